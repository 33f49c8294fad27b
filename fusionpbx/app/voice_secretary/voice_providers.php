<?php
/* Voice Secretary: the tenant's providers (speech recognition, voice, language model, embeddings). */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';

	voice_secretary_ui::require_permission('voice_provider_view');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';

	if ($_SERVER['REQUEST_METHOD'] === 'POST' && voice_secretary_ui::param($_POST, 'action') === 'delete') {
		voice_secretary_ui::bulk_delete($client, 'providers', 'voice_providers', 'voice_provider_delete', $text, 'voice_providers.php');
	}

	$response = $client->list('providers', ['limit' => 200]);
	$names = [];
	$types = $client->provider_types();
	foreach ($types->items() as $type) {
		$names[($type['provider_type'] ?? '').':'.($type['provider_name'] ?? '')] = (string) ($type['display_name'] ?? '');
	}
	$search = mb_substr(trim($ui::param($_GET, 'search')), 0, 100);
	$providers = [];
	foreach ($response->items() as $provider) {
		$type = (string) ($provider['provider_type'] ?? '');
		$values = [$names[$type.':'.($provider['provider_name'] ?? '')] ?? '', $provider['provider_name'] ?? '', $provider['description'] ?? '', $text['option-type_'.$type] ?? $type];
		if ($ui::matches($search, $values)) {
			$providers[] = $provider;
		}
	}
	$can_delete = permission_exists('voice_provider_delete');

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);
	$document['title'] = $text['title-voice_providers'];
	require_once 'resources/header.php';

	if (!$response->ok()) {
		echo "<div class='voice-secretary-error' style='color: #c00;'>".$ui::h($response->message())."</div>\n";
	}
	$buttons = $ui::nav($text, 'voice_providers.php');
	if (permission_exists('voice_provider_add')) {
		$buttons .= button::create(['type' => 'button', 'label' => $text['button-add'], 'icon' => 'plus', 'id' => 'btn_add', 'link' => 'voice_provider_edit.php']);
	}
	if ($can_delete && count($providers) > 0) {
		$buttons .= $ui::delete_button($text);
	}
	$buttons .= $ui::search_form($text, $search);
	echo $ui::action_bar($text['title-voice_providers'], $buttons, count($providers));
	if ($can_delete && count($providers) > 0) {
		echo $ui::delete_modal($text);
	}
	echo $ui::h($text['description-voice_providers'])."\n<br /><br />\n";
	echo "<form id='form_list' method='post'>\n";
	echo "<input type='hidden' id='action' name='action' value=''>\n";
	echo "<div class='card'>\n<table class='list'>\n<tr class='list-header'>\n";
	if ($can_delete) {
		echo $ui::checkbox_all(count($providers) > 0);
	}
	foreach (['label-provider_type', 'label-provider', 'label-description', 'label-default', 'label-priority'] as $label) {
		echo "\t<th>".$ui::h($text[$label])."</th>\n";
	}
	echo "\t<th class='center'>".$ui::h($text['label-enabled'])."</th>\n";
	echo "</tr>\n";
	$x = 0;
	foreach ($providers as $provider) {
		$id = (string) ($provider['voice_ai_provider_uuid'] ?? '');
		$edit = 'voice_provider_edit.php?id='.urlencode($id);
		$type = (string) ($provider['provider_type'] ?? '');
		$key = $type.':'.($provider['provider_name'] ?? '');
		echo "<tr class='list-row' href='".$ui::h($edit)."'>\n";
		if ($can_delete) {
			echo $ui::checkbox_row('voice_providers', $x, $id);
		}
		echo "\t<td>".$ui::h($text['option-type_'.$type] ?? $type)."</td>\n";
		echo "\t<td><a href='".$ui::h($edit)."'>".$ui::h($names[$key] ?? ($provider['provider_name'] ?? ''))."</a></td>\n";
		echo "\t<td class='description overflow'>".$ui::h($provider['description'] ?? '')."</td>\n";
		echo "\t<td>".$ui::h(!empty($provider['is_default']) ? $text['label-true'] : '')."</td>\n";
		echo "\t<td>".$ui::h($provider['priority'] ?? '')."</td>\n";
		echo "\t<td class='center'>".$ui::h(!empty($provider['enabled']) ? $text['label-true'] : $text['label-false'])."</td>\n";
		echo "</tr>\n";
		$x++;
	}
	echo "</table>\n</div>\n";
	echo $ui::token_fields($token);
	echo "</form>\n";
	require_once 'resources/footer.php';
