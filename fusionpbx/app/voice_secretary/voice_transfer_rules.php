<?php
/* Voice Secretary: transfer rules (department → extension) the secretaries may transfer to. */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';

	voice_secretary_ui::require_permission('voice_transfer_rule_view');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';

	if ($_SERVER['REQUEST_METHOD'] === 'POST' && voice_secretary_ui::param($_POST, 'action') === 'delete') {
		voice_secretary_ui::bulk_delete($client, 'transfer-rules', 'voice_transfer_rules', 'voice_transfer_rule_delete', $text, 'voice_transfer_rules.php');
	}

	$response = $client->list('transfer-rules', ['limit' => 200]);
	$secretaries = [];
	foreach ($client->all('secretaries') as $secretary) {
		$secretaries[(string) ($secretary['voice_secretary_uuid'] ?? '')] = (string) ($secretary['name'] ?? '');
	}
	$search = mb_substr(trim($ui::param($_GET, 'search')), 0, 100);
	$rules = [];
	foreach ($response->items() as $rule) {
		$values = [$rule['department_name'] ?? '', $rule['destination_number'] ?? '', $rule['description'] ?? '', implode(' ', (array) ($rule['keywords'] ?? [])), $secretaries[$rule['voice_secretary_uuid'] ?? ''] ?? ''];
		if ($ui::matches($search, $values)) {
			$rules[] = $rule;
		}
	}
	$can_delete = permission_exists('voice_transfer_rule_delete');

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);
	$document['title'] = $text['title-voice_transfer_rules'];
	require_once 'resources/header.php';

	if (!$response->ok()) {
		echo "<div class='voice-secretary-error' style='color: #c00;'>".$ui::h($response->message())."</div>\n";
	}
	$buttons = $ui::nav($text, 'voice_transfer_rules.php');
	if (permission_exists('voice_transfer_rule_add')) {
		$buttons .= button::create(['type' => 'button', 'label' => $text['button-add'], 'icon' => 'plus', 'id' => 'btn_add', 'link' => 'voice_transfer_rule_edit.php']);
	}
	if ($can_delete && count($rules) > 0) {
		$buttons .= $ui::delete_button($text);
	}
	$buttons .= $ui::search_form($text, $search);
	echo $ui::action_bar($text['title-voice_transfer_rules'], $buttons, count($rules));
	if ($can_delete && count($rules) > 0) {
		echo $ui::delete_modal($text);
	}
	echo $ui::h($text['description-voice_transfer_rules'])."\n<br /><br />\n";
	echo "<form id='form_list' method='post'>\n";
	echo "<input type='hidden' id='action' name='action' value=''>\n";
	echo "<div class='card'>\n<table class='list'>\n<tr class='list-header'>\n";
	if ($can_delete) {
		echo $ui::checkbox_all(count($rules) > 0);
	}
	foreach (['label-department_name', 'label-destination_number', 'label-secretary', 'label-keywords', 'label-priority'] as $label) {
		echo "\t<th>".$ui::h($text[$label])."</th>\n";
	}
	echo "\t<th class='center'>".$ui::h($text['label-enabled'])."</th>\n";
	echo "</tr>\n";
	$x = 0;
	foreach ($rules as $rule) {
		$id = (string) ($rule['voice_transfer_rule_uuid'] ?? '');
		$edit = 'voice_transfer_rule_edit.php?id='.urlencode($id);
		echo "<tr class='list-row' href='".$ui::h($edit)."'>\n";
		if ($can_delete) {
			echo $ui::checkbox_row('voice_transfer_rules', $x, $id);
		}
		$destination = ($rule['destination_number'] ?? '').(!empty($rule['destination_context']) ? '@'.$rule['destination_context'] : '');
		$secretary = !empty($rule['voice_secretary_uuid']) ? ($secretaries[$rule['voice_secretary_uuid']] ?? '?') : $text['option-all_secretaries'];
		echo "\t<td><a href='".$ui::h($edit)."'>".$ui::h($rule['department_name'] ?? '')."</a></td>\n";
		echo "\t<td>".$ui::h($destination)."</td>\n";
		echo "\t<td>".$ui::h($secretary)."</td>\n";
		echo "\t<td class='description overflow'>".$ui::h(implode(', ', (array) ($rule['keywords'] ?? [])))."</td>\n";
		echo "\t<td>".$ui::h($rule['priority'] ?? '')."</td>\n";
		echo "\t<td class='center'>".$ui::h(!empty($rule['enabled']) ? $text['label-true'] : $text['label-false'])."</td>\n";
		echo "</tr>\n";
		$x++;
	}
	echo "</table>\n</div>\n";
	echo $ui::token_fields($token);
	echo "</form>\n";
	require_once 'resources/footer.php';
