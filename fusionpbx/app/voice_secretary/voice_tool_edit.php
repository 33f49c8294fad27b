<?php
/* Voice Secretary: add or edit an HTTP tool. Header values are write-only: the service stores them encrypted and
   shows them masked; a masked value sent back keeps the stored one. */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';

	voice_secretary_ui::require_permission('voice_tool_add', 'voice_tool_edit');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';

	$id = (isset($_REQUEST['id']) && voice_secretary_client::is_uuid($_REQUEST['id'])) ? strtolower($_REQUEST['id']) : null;
	$action = $id !== null ? 'update' : 'add';
	voice_secretary_ui::require_permission($action === 'update' ? 'voice_tool_edit' : 'voice_tool_add');

	$tool = null;
	if ($id !== null) {
		$tool = voice_secretary_ui::load($client, 'tools', $id, $text, 'voice_tools.php');
	}

	/** "Name: value" lines to a header map (a line without a colon is an error). */
	$parse_headers = function (string $lines, array &$errors) use ($text): array {
		$headers = [];
		foreach (preg_split('/\r\n|\r|\n/', $lines) as $line) {
			if (trim($line) === '') {
				continue;
			}
			$colon = strpos($line, ':');
			if ($colon === false || trim(substr($line, 0, $colon)) === '') {
				$errors['headers'] = $text['message-tool_header_line'];
				continue;
			}
			$headers[trim(substr($line, 0, $colon))] = trim(substr($line, $colon + 1));
		}
		return $headers;
	};

	$errors = [];
	$test_arguments = '{}';
	if ($_SERVER['REQUEST_METHOD'] === 'POST' && voice_secretary_ui::param($_POST, 'submit_action') === 'test' && $id !== null) {
		//try the saved tool with the typed arguments; the page stays as it was
		voice_secretary_ui::require_token($text, 'voice_tools.php');
		$test_arguments = voice_secretary_ui::param($_POST, 'test_arguments');
		$arguments = json_decode(trim($test_arguments) === '' ? '{}' : $test_arguments, false);
		if (!is_object($arguments)) {
			$errors['test_arguments'] = $text['message-tool_arguments_json'];
		}
		else {
			$result = $client->test_tool($id, $arguments);
			if (!$result->ok()) {
				$errors = $result->field_errors() ?: ['' => $result->message()];
				if (isset($errors['arguments']) || count(preg_grep('/^arguments\./', array_keys($errors))) > 0) {
					$errors = ['test_arguments' => implode(' ', $errors)];
				}
			}
			else {
				$outcome = !empty($result->data['status']) ? 'HTTP '.$result->data['status'].', ' : '';
				$outcome .= round((float) ($result->data['ms'] ?? 0)).' ms';
				$content = mb_substr((string) ($result->data['content'] ?? ''), 0, 300);
				if (!empty($result->data['ok'])) {
					voice_secretary_ui::message($text['message-tool_test_ok'].' ('.$outcome.'): '.$content);
				}
				else {
					voice_secretary_ui::message($text['message-tool_test_failed'].' ('.$outcome.'): '.(string) ($result->data['error'] ?? '').' '.$content, 'negative');
				}
			}
		}
	}
	elseif ($_SERVER['REQUEST_METHOD'] === 'POST') {
		voice_secretary_ui::require_token($text, 'voice_tools.php');
		$secretary = voice_secretary_ui::post('voice_secretary_uuid');
		$parameters_text = voice_secretary_ui::param($_POST, 'parameters');
		//decoded as objects, so that an empty object ({}) is sent as one, not as PHP's empty array ([])
		$parameters = json_decode(trim($parameters_text) === '' ? '{"type": "object", "properties": {}}' : $parameters_text, false);
		if (!is_object($parameters)) {
			$errors['parameters'] = $text['message-tool_parameters_json'];
		}
		$headers = $parse_headers(voice_secretary_ui::param($_POST, 'headers'), $errors);
		if ($action === 'update') {
			//a header removed from the list is removed from the tool (a merge patch: null removes)
			foreach (array_keys((array) ($tool['headers'] ?? [])) as $name) {
				if (!array_key_exists($name, $headers)) {
					$headers[$name] = null;
				}
			}
		}
		$timeout = voice_secretary_ui::post('timeout_s');
		$max_bytes = voice_secretary_ui::post('max_response_bytes');
		$data = [
			'name' => voice_secretary_ui::post('name'),
			'description' => voice_secretary_ui::post('description'),
			'url' => voice_secretary_ui::post('url'),
			'method' => voice_secretary_ui::post('method') ?? 'GET',
			'parameters' => is_object($parameters) ? $parameters : null,
			'headers' => (object) $headers,
			'voice_secretary_uuid' => voice_secretary_client::is_uuid($secretary) ? $secretary : null,
			'timeout_s' => $timeout === null ? 3 : (is_numeric($timeout) ? (float) $timeout : $timeout),
			'max_response_bytes' => $max_bytes === null ? 16384 : (is_numeric($max_bytes) ? (int) $max_bytes : $max_bytes),
			'enabled' => voice_secretary_ui::param($_POST, 'enabled') !== 'false',
		];
		if (count($errors) === 0) {
			$response = $action === 'update' ? $client->update('tools', $id, $data) : $client->create('tools', $data);
			if ($response->ok()) {
				message::add($text[$action === 'update' ? 'message-update' : 'message-add']);
				header('Location: voice_tools.php');
				exit;
			}
			$errors = $response->field_errors() ?: ['' => $response->message()];
		}
		$tool = array_merge($tool ?? [], $data, ['parameters' => $parameters_text, 'headers' => voice_secretary_ui::param($_POST, 'headers')]);
		voice_secretary_ui::not_saved($errors, $text);
	}

	$values = $tool ?? ['method' => 'GET', 'timeout_s' => 3, 'max_response_bytes' => 16384, 'enabled' => true,
		'parameters' => ['type' => 'object', 'properties' => new stdClass()], 'headers' => []];
	$value = function (string $field) use ($values) {
		return $values[$field] ?? '';
	};
	$error = function (string $field) use ($errors) {
		return $errors[$field] ?? '';
	};
	/* The schema as the service returned it, decoded into PHP arrays: the JSON-schema keywords whose value is always an
	   object get their empty {} back (PHP cannot tell it from []). */
	$schema_objects = function ($schema) use (&$schema_objects) {
		if (!is_array($schema)) {
			return $schema;
		}
		foreach ($schema as $key => $item) {
			if (in_array($key, ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'], true) && is_array($item)) {
				$schema[$key] = count($item) === 0 ? new stdClass() : array_map($schema_objects, $item);
			}
			elseif (is_array($item)) {
				$schema[$key] = $schema_objects($item);
			}
		}
		return $schema;
	};
	$parameters_shown = is_array($values['parameters'] ?? null) || is_object($values['parameters'] ?? null)
		? json_encode($schema_objects($values['parameters']), JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE)
		: (string) ($values['parameters'] ?? '');
	$headers_shown = '';
	if (is_array($values['headers'] ?? null)) {
		foreach ($values['headers'] as $name => $header) {
			if ($header !== null) {
				$headers_shown .= $name.': '.$header."\n";
			}
		}
	}
	else {
		$headers_shown = (string) ($values['headers'] ?? '');
	}
	$secretaries = ['' => $text['option-all_secretaries']];
	foreach ($client->all('secretaries') as $secretary) {
		$secretaries[(string) ($secretary['voice_secretary_uuid'] ?? '')] = ($secretary['name'] ?? '').(!empty($secretary['extension']) ? ' ('.$secretary['extension'].')' : '');
	}
	$methods = ['GET' => 'GET', 'POST' => 'POST', 'PUT' => 'PUT', 'PATCH' => 'PATCH', 'DELETE' => 'DELETE'];

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);
	$document['title'] = $text['title-voice_tool'];
	require_once 'resources/header.php';

	echo "<form name='frm' id='frm' method='post'>\n";
	$buttons = button::create(['type' => 'button', 'label' => $text['button-back'], 'icon' => 'arrow-left', 'id' => 'btn_back', 'link' => 'voice_tools.php']);
	if ($id !== null) {
		$buttons .= button::create(['type' => 'submit', 'label' => $text['button-test'], 'icon' => 'plug', 'id' => 'btn_test', 'name' => 'submit_action', 'value' => 'test', 'style' => 'margin-left: 15px;']);
	}
	$buttons .= button::create(['type' => 'submit', 'label' => $text['button-save'], 'icon' => 'check', 'id' => 'btn_save', 'name' => 'submit_action', 'value' => 'save', 'style' => 'margin-left: 15px;']);
	echo $ui::action_bar($text['title-voice_tool'], $buttons);
	$fields = ['name', 'description', 'url', 'method', 'parameters', 'headers', 'voice_secretary_uuid', 'timeout_s', 'max_response_bytes', 'enabled', 'test_arguments'];
	echo $ui::errors_box($errors, $fields);
	echo "<div class='card'>\n<table width='100%' border='0' cellpadding='0' cellspacing='0'>\n";
	echo $ui::row($text['label-tool_name'], $ui::input('name', $value('name'), 'text', ['maxlength' => '64', 'required' => 'required', 'pattern' => '[A-Za-z_][A-Za-z0-9_]*']), $text['description-tool_name'], true, $error('name'));
	echo $ui::row($text['label-description'], $ui::textarea('description', $value('description'), 3), $text['description-tool_description'], true, $error('description'));
	echo $ui::row($text['label-tool_method'], $ui::select('method', $value('method'), $methods), $text['description-tool_method'], true, $error('method'));
	echo $ui::row($text['label-tool_url'], $ui::input('url', $value('url'), 'text', ['maxlength' => '2000', 'required' => 'required', 'style' => 'width: 100%; max-width: 600px;']), $text['description-tool_url'], true, $error('url'));
	echo $ui::row($text['label-tool_parameters'], $ui::textarea('parameters', $parameters_shown, 8), $text['description-tool_parameters'], false, $error('parameters'));
	echo $ui::row($text['label-tool_headers'], $ui::textarea('headers', $headers_shown, 3), $text['description-tool_headers'], false, $error('headers'));
	echo $ui::row($text['label-secretary'], $ui::select('voice_secretary_uuid', $value('voice_secretary_uuid'), $secretaries), $text['description-tool_secretary'], false, $error('voice_secretary_uuid'));
	echo $ui::row($text['label-tool_timeout_s'], $ui::input('timeout_s', $value('timeout_s'), 'number', ['min' => '0.2', 'max' => '8', 'step' => '0.1']), $text['description-tool_timeout_s'], false, $error('timeout_s'));
	echo $ui::row($text['label-tool_max_response_bytes'], $ui::input('max_response_bytes', $value('max_response_bytes'), 'number', ['min' => '256', 'max' => '262144']), $text['description-tool_max_response_bytes'], false, $error('max_response_bytes'));
	echo $ui::row($text['label-enabled'], $ui::boolean('enabled', $values['enabled'] ?? true, $text), $text['description-enabled'], false, $error('enabled'));
	if ($id !== null) {
		echo $ui::row($text['label-tool_test_arguments'], $ui::textarea('test_arguments', $test_arguments, 2), $text['description-tool_test_arguments'], false, $error('test_arguments'));
	}
	echo "</table>\n</div>\n";
	if ($id !== null) {
		echo "<input type='hidden' name='id' value='".$ui::h($id)."'>\n";
	}
	echo $ui::token_fields($token);
	echo "</form>\n";
	require_once 'resources/footer.php';
