<?php
// Shim of FusionPBX's resources/paging.php (pages include it themselves).
/**
 * Shim of FusionPBX's paging(): [controls html, rows per page]; pages from ?page= (0-based), links keep $param.
 * The real one draws FusionPBX's buttons; this one the same links with plain buttons.
 */
function paging($num_rows, $param, $rows_per_page, $mini = false, $result_count = 0) {
	$rows_per_page = is_numeric($rows_per_page) && $rows_per_page > 0 ? (int) $rows_per_page : 100;
	$max_page = max(1, (int) ceil(((int) $num_rows) / $rows_per_page));
	if ($max_page <= 1) {
		return ['', $rows_per_page];
	}
	$page = isset($_GET['page']) && is_numeric($_GET['page']) ? (int) $_GET['page'] : 0;
	$self = htmlspecialchars($_SERVER['PHP_SELF'], ENT_QUOTES, 'UTF-8');
	$param = htmlspecialchars((string) $param, ENT_QUOTES, 'UTF-8');
	$html = "<span class='paging".($mini ? ' mini' : '')."'>";
	$html .= $page > 0 ? "<a class='paging-back' href='".$self.'?page='.($page - 1).$param."'>&lt;</a> " : '';
	$html .= $mini ? '' : ($page + 1).' / '.$max_page;
	$html .= $page + 1 < $max_page ? " <a class='paging-next' href='".$self.'?page='.($page + 1).$param."'>&gt;</a>" : '';
	return [$html.'</span>', $rows_per_page];
}
