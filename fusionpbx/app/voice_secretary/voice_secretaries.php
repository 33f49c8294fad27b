<?php
/* Voice Secretary: the tenant's secretaries (list, bulk delete). */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_dialplan.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';

	voice_secretary_ui::require_permission('voice_secretary_view');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();

	//delete the checked secretaries (and their dialplan entries: also of those the service no longer has)
	if ($_SERVER['REQUEST_METHOD'] === 'POST' && voice_secretary_ui::param($_POST, 'action') === 'delete') {
		voice_secretary_ui::bulk_delete($client, 'secretaries', 'voice_secretaries', 'voice_secretary_delete', $text, 'voice_secretaries.php', function ($id) use ($client) {
			voice_secretary_dialplan::remove($id, $client->domain_uuid(), (string) $_SESSION['domain_name']);
		});
	}

	$response = $client->list('secretaries', ['limit' => 200]);
	$search = mb_substr(trim(voice_secretary_ui::param($_GET, 'search')), 0, 100);
	$secretaries = [];
	foreach ($response->items() as $secretary) {
		if (voice_secretary_ui::matches($search, [$secretary['name'] ?? '', $secretary['extension'] ?? '', $secretary['company_name'] ?? '', $secretary['operator_destination'] ?? ''])) {
			$secretaries[] = $secretary;
		}
	}
	$can_delete = permission_exists('voice_secretary_delete');

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);

	$document['title'] = $text['title-voice_secretaries'];
	require_once 'resources/header.php';

	if (!$response->ok()) {
		echo "<div class='voice-secretary-error' style='color: #c00;'>".voice_secretary_ui::h($response->message())."</div>\n";
	}

	$buttons = voice_secretary_ui::nav($text, 'voice_secretaries.php');
	if (permission_exists('voice_secretary_add')) {
		$buttons .= button::create(['type' => 'button', 'label' => $text['button-add'], 'icon' => 'plus', 'id' => 'btn_add', 'link' => 'voice_secretary_edit.php']);
	}
	if ($can_delete && count($secretaries) > 0) {
		$buttons .= voice_secretary_ui::delete_button($text);
	}
	$buttons .= voice_secretary_ui::search_form($text, $search);
	echo voice_secretary_ui::action_bar($text['title-voice_secretaries'], $buttons, count($secretaries));
	if ($can_delete && count($secretaries) > 0) {
		echo voice_secretary_ui::delete_modal($text);
	}
	echo voice_secretary_ui::h($text['description-voice_secretaries'])."\n<br /><br />\n";

	echo "<form id='form_list' method='post'>\n";
	echo "<input type='hidden' id='action' name='action' value=''>\n";
	echo "<div class='card'>\n<table class='list'>\n<tr class='list-header'>\n";
	if ($can_delete) {
		echo voice_secretary_ui::checkbox_all(count($secretaries) > 0);
	}
	echo "\t<th>".voice_secretary_ui::h($text['label-name'])."</th>\n";
	echo "\t<th>".voice_secretary_ui::h($text['label-extension'])."</th>\n";
	echo "\t<th>".voice_secretary_ui::h($text['label-language'])."</th>\n";
	echo "\t<th class='hide-sm-dn'>".voice_secretary_ui::h($text['label-operator_destination'])."</th>\n";
	echo "\t<th class='center'>".voice_secretary_ui::h($text['label-enabled'])."</th>\n";
	echo "</tr>\n";
	$x = 0;
	foreach ($secretaries as $secretary) {
		$id = (string) ($secretary['voice_secretary_uuid'] ?? '');
		$edit = 'voice_secretary_edit.php?id='.urlencode($id);
		echo "<tr class='list-row' href='".voice_secretary_ui::h($edit)."'>\n";
		if ($can_delete) {
			echo voice_secretary_ui::checkbox_row('voice_secretaries', $x, $id);
		}
		echo "\t<td><a href='".voice_secretary_ui::h($edit)."'>".voice_secretary_ui::h($secretary['name'] ?? '')."</a></td>\n";
		echo "\t<td>".voice_secretary_ui::h($secretary['extension'] ?? '')."</td>\n";
		echo "\t<td>".voice_secretary_ui::h($secretary['language'] ?? '')."</td>\n";
		echo "\t<td class='hide-sm-dn'>".voice_secretary_ui::h($secretary['operator_destination'] ?? '')."</td>\n";
		echo "\t<td class='center'>".voice_secretary_ui::h(!empty($secretary['enabled']) ? $text['label-true'] : $text['label-false'])."</td>\n";
		echo "</tr>\n";
		$x++;
	}
	echo "</table>\n</div>\n";
	echo voice_secretary_ui::token_fields($token);
	echo "</form>\n";

	require_once 'resources/footer.php';
