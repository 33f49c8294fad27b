<?php
// Shim of FusionPBX's header: page head, then the messages queued by message::add() (shown once), as HTML the
// way FusionPBX's theme shows them (it puts them in the page with jQuery's .html()): callers must escape.
echo "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n";
echo "<title>".htmlspecialchars((string) ($document['title'] ?? ''), ENT_QUOTES)."</title>\n";
echo "<style>body{font-family:sans-serif;margin:20px;color:#222} .action_bar{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ccc;margin-bottom:10px;padding:6px 0} .heading b{font-size:1.3em} .count{display:inline-block;margin-left:8px;color:#666} .card{border:1px solid #ddd;border-radius:4px;padding:10px;margin-bottom:10px} table.list{border-collapse:collapse;width:100%} table.list th,table.list td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left} .vncell,.vncellreq{width:220px;padding:6px;vertical-align:top;font-weight:bold} .vncellreq{color:#036} .vtable{padding:6px} .formfld{padding:3px} button{margin-left:4px;padding:4px 10px} #messages div{padding:6px;margin-bottom:8px} .message-positive{background:#dfd} .message-negative{background:#fdd}</style>\n";
echo "</head>\n<body>\n<div id='messages'>\n";
foreach ($_SESSION['messages'] ?? [] as $mood => $messages) {
	foreach ($messages as $message) {
		echo "<div class='message-".htmlspecialchars($mood, ENT_QUOTES)."'>".$message."</div>\n";
	}
}
unset($_SESSION['messages']);
echo "</div>\n<div id='main_content'>\n";
