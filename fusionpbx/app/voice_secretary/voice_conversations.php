<?php
/* Voice Secretary: the call log, with filters (outcome, caller, secretary, dates) and paging. */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once 'resources/paging.php';
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
	$caller = substr((string) preg_replace('/[^0-9+*#A-Za-z-]/', '', voice_secretary_ui::param($_GET, 'caller')), 0, 64);
	if ($caller !== '') {
		$filters['caller'] = $caller;
	}
	$secretary_filter = voice_secretary_ui::param($_GET, 'secretary');
	$secretary_filter = voice_secretary_client::is_uuid($secretary_filter) ? strtolower($secretary_filter) : '';
	if ($secretary_filter !== '') {
		$filters['secretary_uuid'] = $secretary_filter;
	}
	$dates = ['from' => '', 'to' => ''];
	foreach (['from' => 'started_from', 'to' => 'started_to'] as $name => $api) {
		$date = voice_secretary_ui::param($_GET, $name);
		if (preg_match('/^\d{4}-\d{2}-\d{2}$/', $date) && strtotime($date) !== false) {
			$dates[$name] = $date;
			$filters[$api] = $name === 'to' ? date('Y-m-d', strtotime($date.' +1 day')) : $date;
		}
	}
	//paging as FusionPBX's lists do it (the domain's "paging" setting, ?page= from 0)
	$rows_per_page = 50;
	if (is_object($settings ?? null) && method_exists($settings, 'get') && is_numeric($settings->get('domain', 'paging', 50))) {
		$rows_per_page = max(1, min(500, (int) $settings->get('domain', 'paging', 50)));
	}
	$page = is_numeric(voice_secretary_ui::param($_GET, 'page')) ? max(0, (int) $_GET['page']) : 0;

	$response = $client->list('conversations', array_merge($filters, ['limit' => $rows_per_page, 'offset' => $page * $rows_per_page]));
	$conversations = $response->items();
	$total = $response->ok() ? (int) ($response->data['total'] ?? 0) : 0;
	$secretary_names = [];
	foreach ($client->all('secretaries') as $secretary) {
		$secretary_names[(string) ($secretary['voice_secretary_uuid'] ?? '')] = (string) ($secretary['name'] ?? '');
	}
	$secretaries = array_merge(['' => $text['option-all_secretaries']], $secretary_names);

	//the filters, carried by the pager's links
	$param = '';
	foreach (['outcome' => $outcome, 'secretary' => $secretary_filter, 'caller' => $caller, 'from' => $dates['from'], 'to' => $dates['to']] as $name => $value) {
		if ($value !== '') {
			$param .= '&'.$name.'='.urlencode($value);
		}
	}
	[$paging_controls, $rows_per_page] = paging($total, $param, $rows_per_page);
	[$paging_controls_mini, $rows_per_page] = paging($total, $param, $rows_per_page, true);

	$document['title'] = $text['title-voice_conversations'];
	require_once 'resources/header.php';

	if (!$response->ok()) {
		echo "<div class='voice-secretary-error' style='color: #c00;'>".$ui::h($response->message())."</div>\n";
	}
	$buttons = $ui::nav($text, 'voice_conversations.php');
	if ($paging_controls_mini !== '') {
		$buttons .= "<span style='margin-left: 15px;'>".$paging_controls_mini."</span>";
	}
	echo $ui::action_bar($text['title-voice_conversations'], $buttons, $total);
	echo $ui::h($text['description-voice_conversations'])."\n<br /><br />\n";

	//the filters, laid out like FusionPBX's call detail records search
	$outcome_options = ['' => $text['option-all_outcomes']];
	foreach ($outcomes as $option) {
		$outcome_options[$option] = $text['option-outcome_'.$option];
	}
	$filter = function (string $label, string $field) use ($ui): string {
		return "\t<div class='form_set'>\n\t\t<div class='label'>".$ui::h($label)."</div>\n\t\t<div class='field no-wrap'>".$field."</div>\n\t</div>\n";
	};
	echo "<form id='form_search' method='get'>\n<div class='card'>\n<div class='form_grid'>\n";
	echo $filter($text['label-outcome'], $ui::select('outcome', $outcome, $outcome_options));
	echo $filter($text['label-secretary'], $ui::select('secretary', $secretary_filter, $secretaries));
	echo $filter($text['label-caller'], $ui::input('caller', $caller, 'text', ['placeholder' => $text['label-caller_number'], 'style' => 'min-width: 115px; width: 150px;']));
	$range = $ui::input('from', $dates['from'], 'date', ['title' => $text['label-from'], 'aria-label' => $text['label-from'], 'style' => 'min-width: 115px; width: 150px;']);
	$range .= ' '.$ui::h($text['label-to']).' '.$ui::input('to', $dates['to'], 'date', ['title' => $text['label-to'], 'aria-label' => $text['label-to'], 'style' => 'min-width: 115px; width: 150px;']);
	echo $filter($text['label-start_range'], "<span class='voice-secretary-range'>".$ui::h($text['label-from']).' '.$range.'</span>');
	echo "</div>\n";
	echo "<div style='display: flex; justify-content: flex-end; padding-top: 15px; margin-left: 20px; white-space: nowrap;'>";
	echo button::create(['label' => $text['button-reset'], 'icon' => 'undo', 'type' => 'button', 'id' => 'btn_reset', 'link' => 'voice_conversations.php']);
	echo button::create(['label' => $text['button-search'], 'icon' => 'search', 'type' => 'submit', 'id' => 'btn_search']);
	echo "</div>\n</div>\n</form>\n<br />\n";

	echo "<div class='card'>\n<table class='list'>\n<tr class='list-header'>\n";
	foreach (['label-started', 'label-caller', 'label-secretary', 'label-turns', 'label-outcome'] as $label) {
		echo "\t<th>".$ui::h($text[$label])."</th>\n";
	}
	echo "\t<th class='hide-sm-dn'>".$ui::h($text['label-summary'])."</th>\n";
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
		//issue 13: a call in which the caller left a message is marked
		$marker = (int) ($conversation['caller_message_count'] ?? 0) > 0 ? " <span class='fas fa-envelope caller-message-marker' title='".$ui::h($text['label-has_caller_message'])."' aria-label='".$ui::h($text['label-has_caller_message'])."'></span>" : '';
		echo "\t<td>".$ui::h($caller_label).$marker."</td>\n";
		echo "\t<td>".$ui::h($secretary_names[$conversation['voice_secretary_uuid'] ?? ''] ?? '')."</td>\n";
		echo "\t<td>".$ui::h($conversation['turn_count'] ?? '')."</td>\n";
		echo "\t<td class='conversation-outcome'>".$ui::h($outcome_label)."</td>\n";
		echo "\t<td class='description overflow hide-sm-dn'>".$ui::h($conversation['summary'] ?? '')."</td>\n";
		echo "</tr>\n";
	}
	echo "</table>\n</div>\n<br />\n";
	echo "<div align='center'>".$paging_controls."</div>\n";
	require_once 'resources/footer.php';
