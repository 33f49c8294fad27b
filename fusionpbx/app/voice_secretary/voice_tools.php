<?php
/* Voice Secretary: the tenant's HTTP tools the LLM may call during a call (see docs/tools.md). */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';

	voice_secretary_ui::require_permission('voice_tool_view');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';

	if ($_SERVER['REQUEST_METHOD'] === 'POST' && voice_secretary_ui::param($_POST, 'action') === 'delete') {
		voice_secretary_ui::bulk_delete($client, 'tools', 'voice_tools', 'voice_tool_delete', $text, 'voice_tools.php');
	}

	$response = $client->list('tools', ['limit' => 200]);
	$secretaries = [];
	foreach ($client->all('secretaries') as $secretary) {
		$secretaries[(string) ($secretary['voice_secretary_uuid'] ?? '')] = (string) ($secretary['name'] ?? '');
	}
	$search = mb_substr(trim($ui::param($_GET, 'search')), 0, 100);
	$tools = [];
	foreach ($response->items() as $tool) {
		$values = [$tool['name'] ?? '', $tool['description'] ?? '', $tool['url'] ?? '', $secretaries[$tool['voice_secretary_uuid'] ?? ''] ?? ''];
		if ($ui::matches($search, $values)) {
			$tools[] = $tool;
		}
	}
	$can_delete = permission_exists('voice_tool_delete');

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);
	$document['title'] = $text['title-voice_tools'];
	require_once 'resources/header.php';

	if (!$response->ok()) {
		echo "<div class='voice-secretary-error' style='color: #c00;'>".$ui::h($response->message())."</div>\n";
	}
	$buttons = $ui::nav($text, 'voice_tools.php');
	if (permission_exists('voice_tool_add')) {
		$buttons .= button::create(['type' => 'button', 'label' => $text['button-add'], 'icon' => 'plus', 'id' => 'btn_add', 'link' => 'voice_tool_edit.php']);
	}
	if ($can_delete && count($tools) > 0) {
		$buttons .= $ui::delete_button($text);
	}
	$buttons .= $ui::search_form($text, $search);
	echo $ui::action_bar($text['title-voice_tools'], $buttons, count($tools));
	if ($can_delete && count($tools) > 0) {
		echo $ui::delete_modal($text);
	}
	echo $ui::h($text['description-voice_tools'])."\n<br /><br />\n";
	echo "<form id='form_list' method='post'>\n";
	echo "<input type='hidden' id='action' name='action' value=''>\n";
	echo "<div class='card'>\n<table class='list'>\n<tr class='list-header'>\n";
	if ($can_delete) {
		echo $ui::checkbox_all(count($tools) > 0);
	}
	foreach (['label-tool_name', 'label-tool_method', 'label-tool_url', 'label-secretary', 'label-description'] as $label) {
		echo "\t<th>".$ui::h($text[$label])."</th>\n";
	}
	echo "\t<th class='center'>".$ui::h($text['label-enabled'])."</th>\n";
	echo "</tr>\n";
	$x = 0;
	foreach ($tools as $tool) {
		$id = (string) ($tool['voice_tool_uuid'] ?? '');
		$edit = 'voice_tool_edit.php?id='.urlencode($id);
		echo "<tr class='list-row' href='".$ui::h($edit)."'>\n";
		if ($can_delete) {
			echo $ui::checkbox_row('voice_tools', $x, $id);
		}
		$secretary = !empty($tool['voice_secretary_uuid']) ? ($secretaries[$tool['voice_secretary_uuid']] ?? '?') : $text['option-all_secretaries'];
		echo "\t<td><a href='".$ui::h($edit)."'>".$ui::h($tool['name'] ?? '')."</a></td>\n";
		echo "\t<td>".$ui::h($tool['method'] ?? '')."</td>\n";
		echo "\t<td class='overflow'>".$ui::h($tool['url'] ?? '')."</td>\n";
		echo "\t<td>".$ui::h($secretary)."</td>\n";
		echo "\t<td class='description overflow'>".$ui::h($tool['description'] ?? '')."</td>\n";
		echo "\t<td class='center'>".$ui::h(!empty($tool['enabled']) ? $text['label-true'] : $text['label-false'])."</td>\n";
		echo "</tr>\n";
		$x++;
	}
	echo "</table>\n</div>\n";
	echo $ui::token_fields($token);
	echo "</form>\n";
	require_once 'resources/footer.php';
