<?php
/* Voice Secretary: add or edit a provider; its settings form comes from the service's provider types. */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_provider_form.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';

	voice_secretary_ui::require_permission('voice_provider_add', 'voice_provider_edit');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';

	$id = (isset($_REQUEST['id']) && voice_secretary_client::is_uuid($_REQUEST['id'])) ? strtolower($_REQUEST['id']) : null;
	$action = $id !== null ? 'update' : 'add';
	voice_secretary_ui::require_permission($action === 'update' ? 'voice_provider_edit' : 'voice_provider_add');

	//the provider types the service knows: "type:name" => description
	$types = [];
	$response = $client->provider_types();
	foreach ($response->items() as $type) {
		if (is_array($type['settings_schema'] ?? null)) {
			$types[($type['provider_type'] ?? '').':'.($type['provider_name'] ?? '')] = $type;
		}
	}

	$provider = null;
	if ($id !== null) {
		$provider = voice_secretary_ui::load($client, 'providers', $id, $text, 'voice_providers.php');
		$key = ($provider['provider_type'] ?? '').':'.($provider['provider_name'] ?? '');
	}
	else {
		$key = voice_secretary_ui::param($_REQUEST, 'provider');
	}
	$type = $types[$key] ?? null;

	$errors = [];
	$tested = null;
	if ($_SERVER['REQUEST_METHOD'] === 'POST') {
		voice_secretary_ui::require_token($text, 'voice_providers.php');
		if (voice_secretary_ui::param($_POST, 'submit_action') === 'test' && $id !== null) {
			$result = $client->test_provider($id);
			if ($result->ok() && !empty($result->data['ok'])) {
				message::add($text['message-test_ok'].' ('.round((float) ($result->data['latency_ms'] ?? 0)).' ms)');
			}
			else {
				//the provider's own words: escaped
				voice_secretary_ui::message($text['message-test_failed'].': '.($result->ok() ? (string) ($result->data['message'] ?? '') : $result->message()), 'negative');
			}
			header('Location: voice_provider_edit.php?id='.urlencode($id));
			exit;
		}
		if ($type === null) {
			$errors['provider'] = $text['message-required'].$text['label-provider'];
		}
		else {
			$config = voice_secretary_provider_form::parse($type['settings_schema'], (array) $type['secret_fields'], $_POST, $action === 'update');
			$priority = voice_secretary_ui::post('priority');
			$rpm = voice_secretary_ui::post('rate_limit_rpm');
			$data = [
				'description' => voice_secretary_ui::post('description'),
				'is_default' => voice_secretary_ui::param($_POST, 'is_default') === 'true',
				'priority' => $priority === null ? 100 : (is_numeric($priority) ? (int) $priority : $priority),
				'rate_limit_rpm' => $rpm === null ? null : (is_numeric($rpm) ? (int) $rpm : $rpm),
				'enabled' => voice_secretary_ui::param($_POST, 'enabled') !== 'false',
				'config' => $action === 'update' ? (object) $config : $config,
			];
			if ($action === 'add') {
				$data['provider_type'] = $type['provider_type'];
				$data['provider_name'] = $type['provider_name'];
				$data['config'] = (object) $config;
			}
			if (count($errors) === 0) {
				$response = $action === 'update' ? $client->update('providers', $id, $data) : $client->create('providers', $data);
				if ($response->ok()) {
					message::add($text[$action === 'update' ? 'message-update' : 'message-add']);
					header('Location: voice_provider_edit.php?id='.urlencode((string) $response->data['voice_ai_provider_uuid']));
					exit;
				}
				$errors = $response->field_errors() ?: ['' => $response->message()];
			}
			//show the form again with what was typed (secrets are never echoed back)
			$kept = $provider['config'] ?? [];
			foreach ($config as $name => $value) {
				if (!in_array($name, (array) $type['secret_fields'], true)) {
					$kept[$name] = $value;
				}
			}
			$provider = array_merge($provider ?? [], $data, ['config' => $kept]);
		}
		voice_secretary_ui::not_saved($errors, $text);
	}

	$values = $provider ?? ['priority' => 100, 'enabled' => true, 'is_default' => false, 'config' => []];
	$error = function (string $field) use ($errors) {
		return $errors[$field] ?? '';
	};

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);
	$document['title'] = $text['title-voice_provider'];
	require_once 'resources/header.php';

	//adding: pick the provider first (a GET form), then its settings
	if ($type === null) {
		echo "<form id='form_pick' method='get'>\n";
		$buttons = button::create(['type' => 'button', 'label' => $text['button-back'], 'icon' => 'arrow-left', 'id' => 'btn_back', 'link' => 'voice_providers.php']);
		$buttons .= button::create(['type' => 'submit', 'label' => $text['button-continue'], 'icon' => 'arrow-right', 'id' => 'btn_continue']);
		echo $ui::action_bar($text['title-voice_provider'], $buttons);
		if (!$response->ok()) {
			echo "<div class='voice-secretary-error' style='color: #c00;'>".$ui::h($response->message())."</div>\n";
		}
		echo "<div class='card'>\n<table width='100%' border='0' cellpadding='0' cellspacing='0'>\n";
		$select = "<select class='formfld' name='provider' id='provider'>\n";
		foreach (['stt', 'tts', 'llm', 'embeddings'] as $group) {
			$select .= "<optgroup label='".$ui::h($text['option-type_'.$group])."'>\n";
			foreach ($types as $option => $described) {
				if (($described['provider_type'] ?? '') === $group) {
					$select .= "<option value='".$ui::h($option)."'>".$ui::h($described['display_name'] ?? $option)."</option>\n";
				}
			}
			$select .= "</optgroup>\n";
		}
		$select .= '</select>';
		echo $ui::row($text['label-provider'], $select, $text['description-provider_pick'], true, $error('provider'));
		echo "</table>\n</div>\n</form>\n";
		require_once 'resources/footer.php';
		exit;
	}

	echo "<form name='frm' id='frm' method='post'>\n";
	$buttons = button::create(['type' => 'button', 'label' => $text['button-back'], 'icon' => 'arrow-left', 'id' => 'btn_back', 'link' => 'voice_providers.php']);
	if ($id !== null) {
		$buttons .= button::create(['type' => 'submit', 'label' => $text['button-test'], 'icon' => 'plug', 'id' => 'btn_test', 'name' => 'submit_action', 'value' => 'test']);
	}
	$buttons .= button::create(['type' => 'submit', 'label' => $text['button-save'], 'icon' => 'check', 'id' => 'btn_save', 'name' => 'submit_action', 'value' => 'save']);
	echo $ui::action_bar($text['title-voice_provider'].': '.($type['display_name'] ?? $key), $buttons);
	$shown = ['description', 'is_default', 'priority', 'rate_limit_rpm', 'enabled'];
	foreach (array_keys((array) ($type['settings_schema']['properties'] ?? [])) as $name) {
		$shown[] = 'config.'.$name;
	}
	echo $ui::errors_box($errors, $shown);
	echo $ui::h($type['description'] ?? '')."<br /><br />\n";
	echo "<div class='card'>\n<table width='100%' border='0' cellpadding='0' cellspacing='0'>\n";
	echo $ui::row($text['label-provider_type'], $ui::h($text['option-type_'.($type['provider_type'] ?? '')] ?? ($type['provider_type'] ?? '')));
	echo voice_secretary_provider_form::render($type['settings_schema'], (array) $type['secret_fields'], (array) ($values['config'] ?? []), $errors, $text, (string) ($type['provider_type'] ?? ''), (string) ($type['provider_name'] ?? ''));
	echo $ui::row($text['label-description'], $ui::input('description', $values['description'] ?? '', 'text', ['maxlength' => '500']), '', false, $error('description'));
	echo $ui::row($text['label-default'], $ui::boolean('is_default', !empty($values['is_default']), $text), $text['description-is_default'], false, $error('is_default'));
	echo $ui::row($text['label-priority'], $ui::input('priority', $values['priority'] ?? 100, 'number', ['min' => '0', 'max' => '10000']), $text['description-provider_priority'], false, $error('priority'));
	echo $ui::row($text['label-rate_limit_rpm'], $ui::input('rate_limit_rpm', $values['rate_limit_rpm'] ?? '', 'number', ['min' => '1']), $text['description-rate_limit_rpm'], false, $error('rate_limit_rpm'));
	echo $ui::row($text['label-enabled'], $ui::boolean('enabled', $values['enabled'] ?? true, $text), $text['description-enabled'], false, $error('enabled'));
	echo "</table>\n</div>\n";
	if ($id !== null) {
		echo "<input type='hidden' name='id' value='".$ui::h($id)."'>\n";
	}
	else {
		echo "<input type='hidden' name='provider' value='".$ui::h($key)."'>\n";
	}
	echo $ui::token_fields($token);
	echo "</form>\n";
	require_once 'resources/footer.php';
