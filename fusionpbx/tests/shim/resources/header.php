<?php
// Shim of FusionPBX's header: page head, then the messages queued by message::add() (shown once), as HTML the
// way FusionPBX's theme shows them (it puts them in the page with jQuery's .html()): callers must escape.
echo "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n";
echo "<title>".htmlspecialchars((string) ($document['title'] ?? ''), ENT_QUOTES)."</title>\n";
echo "<style>body{font-family:sans-serif;margin:20px;color:#222} .action_bar{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ccc;margin-bottom:10px;padding:6px 0} .heading b{font-size:1.3em} .count{display:inline-block;margin-left:8px;color:#666} .card{border:1px solid #ddd;border-radius:4px;padding:10px;margin-bottom:10px} table.list{border-collapse:collapse;width:100%} table.list th,table.list td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left} .vncell,.vncellreq{width:220px;padding:6px;vertical-align:top;font-weight:bold} .vncellreq{color:#036} .vtable{padding:6px} .formfld{padding:3px} button{margin-left:4px;padding:4px 10px} #messages div{padding:6px;margin-bottom:8px} .message-positive{background:#dfd} .message-negative{background:#fdd} .form_grid{display:flex;flex-wrap:wrap;gap:10px} .form_set .label{font-weight:bold} .modal-window{position:fixed;top:20%;left:30%;background:#fff;border:1px solid #888;padding:20px} .modal-title,.modal-message{display:block;margin-bottom:10px}</style>\n";
// the list and modal functions FusionPBX's theme defines (the shim's own short versions)
echo "<script>\n";
echo "function checkbox_on_change() { var any = document.querySelectorAll(\"table.list input[type='checkbox']:checked\").length > 0; document.querySelectorAll('#btn_delete, .revealed').forEach(function (b) { if (!b.closest('.modal-window')) { b.style.display = any ? 'inline' : 'none'; } }); }\n";
echo "function list_all_toggle() { var all = document.getElementById('checkbox_all').checked; document.querySelectorAll(\"table.list input[type='checkbox']\").forEach(function (c) { c.checked = all; }); }\n";
echo "function list_action_set(action) { document.getElementById('action').value = action; }\n";
echo "function list_form_submit(id) { document.getElementById(id).submit(); }\n";
echo "function modal_open(id) { document.getElementById(id).style.display = 'block'; }\n";
echo "function modal_close() { document.querySelectorAll('.modal-window').forEach(function (m) { m.style.display = 'none'; }); }\n";
echo "</script>\n";
echo "</head>\n<body>\n<div id='messages'>\n";
foreach ($_SESSION['messages'] ?? [] as $mood => $messages) {
	foreach ($messages as $message) {
		echo "<div class='message-".htmlspecialchars($mood, ENT_QUOTES)."'>".$message."</div>\n";
	}
}
unset($_SESSION['messages']);
echo "</div>\n<div id='main_content'>\n";
