<?php
/* Voice Secretary: the call log, with filters (outcome, caller, secretary, dates) and paging. */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';

	voice_secretary_ui::require_permission('voice_conversation_view');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';

	//filters: only known values reach the API query
	$outcomes = ['resolved', 'transferred', 'hangup', 'abandoned', 'error'];
	$filters = [];
	$outcome = voice_secretary_ui::param($_GET, 'outcome');
	if (in_array($outcome, $outcomes, true)) {
		$filters['outcome'] = $outcome;
	}
	$caller = preg_replace('/[^0-9+*#A-Za-z-]/', '', voice_secretary_ui::param($_GET, 'caller'));
	if ($caller !== '') {
		$filters['caller'] = substr($caller, 0, 64);
	}
	$secretary_filter = voice_secretary_ui::param($_GET, 'secretary');
	if (voice_secretary_client::is_uuid($secretary_filter)) {
		$filters['secretary_uuid'] = $secretary_filter;
	}
	foreach (['from' => 'started_from', 'to' => 'started_to'] as $param => $api) {
		$date = voice_secretary_ui::param($_GET, $param);
		if (preg_match('/^\d{4}-\d{2}-\d{2}$/', $date)) {
			$filters[$api] = $param === 'to' ? date('Y-m-d', strtotime($date.' +1 day')) : $date;
		}
	}
	$rows_per_page = 50;
	$page = is_numeric(voice_secretary_ui::param($_GET, 'page')) ? max(0, (int) $_GET['page']) : 0;

	$response = $client->list('conversations', array_merge($filters, ['limit' => $rows_per_page, 'offset' => $page * $rows_per_page]));
	$conversations = $response->items();
	$total = $response->ok() ? (int) ($response->data['total'] ?? 0) : 0;
	$secretary_names = [];
	foreach ($client->all('secretaries') as $secretary) {
		$secretary_names[(string) ($secretary['voice_secretary_uuid'] ?? '')] = (string) ($secretary['name'] ?? '');
	}
	$secretaries = array_merge(['' => $text['option-all_secretaries']], $secretary_names);

	$document['title'] = $text['title-voice_conversations'];
	require_once 'resources/header.php';

	if (!$response->ok()) {
		echo "<div class='voice-secretary-error' style='color: #c00;'>".$ui::h($response->message())."</div>\n";
	}
	echo $ui::action_bar($text['title-voice_conversations'], $ui::nav($text, 'voice_conversations.php'), $total);
	echo $ui::h($text['description-voice_conversations'])."\n<br /><br />\n";

	$outcome_options = ['' => $text['option-all_outcomes']];
	foreach ($outcomes as $option) {
		$outcome_options[$option] = $text['option-outcome_'.$option];
	}
	echo "<form id='form_search' method='get'>\n<div class='card'>\n";
	echo $ui::select('outcome', $outcome, $outcome_options)."\n";
	echo $ui::select('secretary', $secretary_filter, $secretaries)."\n";
	echo $ui::input('caller', $caller, 'text', ['placeholder' => $text['label-caller'], 'style' => 'width: 140px;'])."\n";
	echo $ui::input('from', $ui::param($_GET, 'from'), 'date', ['title' => $text['label-from']])."\n";
	echo $ui::input('to', $ui::param($_GET, 'to'), 'date', ['title' => $text['label-to']])."\n";
	echo button::create(['type' => 'submit', 'label' => $text['button-search'], 'icon' => 'search', 'id' => 'btn_search']);
	echo "</div>\n</form>\n<br />\n";

	echo "<div class='card'>\n<table class='list'>\n<tr class='list-header'>\n";
	foreach (['label-started', 'label-caller', 'label-secretary', 'label-turns', 'label-outcome', 'label-summary'] as $label) {
		echo "\t<th>".$ui::h($text[$label])."</th>\n";
	}
	echo "</tr>\n";
	foreach ($conversations as $conversation) {
		$view = 'voice_conversation_view.php?id='.urlencode((string) ($conversation['voice_conversation_uuid'] ?? ''));
		$caller_label = trim(($conversation['caller_id_name'] ?? '').' '.($conversation['caller_id_number'] ?? ''));
		$outcome_label = !empty($conversation['outcome']) ? ($text['option-outcome_'.$conversation['outcome']] ?? $conversation['outcome']) : $text['label-in_progress'];
		if (!empty($conversation['transfer_destination'])) {
			$outcome_label .= ' → '.(($conversation['transfer_department'] ?? '') ?: $text['label-operator']).' ('.$conversation['transfer_destination'].')';
		}
		echo "<tr class='list-row' href='".$ui::h($view)."'>\n";
		echo "\t<td><a href='".$ui::h($view)."'>".$ui::h($ui::local_time($conversation['started_at'] ?? null))."</a></td>\n";
		echo "\t<td>".$ui::h($caller_label)."</td>\n";
		echo "\t<td>".$ui::h($secretary_names[$conversation['voice_secretary_uuid'] ?? ''] ?? '')."</td>\n";
		echo "\t<td>".$ui::h($conversation['turn_count'] ?? '')."</td>\n";
		echo "\t<td class='conversation-outcome'>".$ui::h($outcome_label)."</td>\n";
		echo "\t<td class='description overflow'>".$ui::h($conversation['summary'] ?? '')."</td>\n";
		echo "</tr>\n";
	}
	echo "</table>\n</div>\n";

	//paging
	$pages = (int) ceil($total / $rows_per_page);
	if ($pages > 1) {
		$query = $_GET;
		echo "<div class='center' style='margin-top: 10px;'>";
		if ($page > 0) {
			$query['page'] = $page - 1;
			echo "<a href='?".$ui::h(http_build_query($query))."'>&laquo; ".$ui::h($text['button-previous'])."</a> ";
		}
		echo $ui::h(($page + 1).' / '.$pages);
		if ($page + 1 < $pages) {
			$query['page'] = $page + 1;
			echo " <a href='?".$ui::h(http_build_query($query))."'>".$ui::h($text['button-next'])." &raquo;</a>";
		}
		echo "</div>\n";
	}
	require_once 'resources/footer.php';
