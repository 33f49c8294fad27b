<?php
/* Voice Secretary: opening hours (schedules) the secretaries and transfer rules may follow. */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';

	voice_secretary_ui::require_permission('voice_schedule_view');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';

	if ($_SERVER['REQUEST_METHOD'] === 'POST' && voice_secretary_ui::param($_POST, 'action') === 'delete') {
		voice_secretary_ui::bulk_delete($client, 'schedules', 'voice_schedules', 'voice_schedule_delete', $text, 'voice_schedules.php');
	}

	$response = $client->list('schedules', ['limit' => 200]);
	$search = mb_substr(trim($ui::param($_GET, 'search')), 0, 100);
	$schedules = [];
	foreach ($response->items() as $schedule) {
		if ($ui::matches($search, [$schedule['name'] ?? '', $schedule['time_zone'] ?? '', $schedule['description'] ?? ''])) {
			$schedules[] = $schedule;
		}
	}
	$can_delete = permission_exists('voice_schedule_delete');

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);
	$document['title'] = $text['title-voice_schedules'];
	require_once 'resources/header.php';

	if (!$response->ok()) {
		echo "<div class='voice-secretary-error' style='color: #c00;'>".$ui::h($response->message())."</div>\n";
	}
	$buttons = $ui::nav($text, 'voice_schedules.php');
	if (permission_exists('voice_schedule_add')) {
		$buttons .= button::create(['type' => 'button', 'label' => $text['button-add'], 'icon' => 'plus', 'id' => 'btn_add', 'link' => 'voice_schedule_edit.php']);
	}
	if ($can_delete && count($schedules) > 0) {
		$buttons .= $ui::delete_button($text);
	}
	$buttons .= $ui::search_form($text, $search);
	echo $ui::action_bar($text['title-voice_schedules'], $buttons, count($schedules));
	if ($can_delete && count($schedules) > 0) {
		echo $ui::delete_modal($text);
	}
	echo $ui::h($text['description-voice_schedules'])."\n<br /><br />\n";
	echo "<form id='form_list' method='post'>\n";
	echo "<input type='hidden' id='action' name='action' value=''>\n";
	echo "<div class='card'>\n<table class='list'>\n<tr class='list-header'>\n";
	if ($can_delete) {
		echo $ui::checkbox_all(count($schedules) > 0);
	}
	foreach (['label-name', 'label-time_zone', 'label-open_now'] as $label) {
		echo "\t<th>".$ui::h($text[$label])."</th>\n";
	}
	echo "\t<th class='center'>".$ui::h($text['label-enabled'])."</th>\n";
	echo "</tr>\n";
	$x = 0;
	foreach ($schedules as $schedule) {
		$id = (string) ($schedule['voice_schedule_uuid'] ?? '');
		$edit = 'voice_schedule_edit.php?id='.urlencode($id);
		$now = !empty($schedule['open_now']) ? $text['label-open'] : $text['label-closed'];
		if (empty($schedule['open_now']) && !empty($schedule['next_opening'])) {
			$now .= ' — '.$text['label-opens'].' '.substr(str_replace('T', ' ', (string) $schedule['next_opening']), 0, 16);
		}
		echo "<tr class='list-row' href='".$ui::h($edit)."'>\n";
		if ($can_delete) {
			echo $ui::checkbox_row('voice_schedules', $x, $id);
		}
		echo "\t<td><a href='".$ui::h($edit)."'>".$ui::h($schedule['name'] ?? '')."</a></td>\n";
		echo "\t<td>".$ui::h($schedule['time_zone'] ?? '')."</td>\n";
		echo "\t<td class='schedule-now'>".$ui::h($now)."</td>\n";
		echo "\t<td class='center'>".$ui::h(!empty($schedule['enabled']) ? $text['label-true'] : $text['label-false'])."</td>\n";
		echo "</tr>\n";
		$x++;
	}
	echo "</table>\n</div>\n";
	echo $ui::token_fields($token);
	echo "</form>\n";
	require_once 'resources/footer.php';
