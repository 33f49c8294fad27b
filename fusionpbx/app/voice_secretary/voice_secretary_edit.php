<?php
/* Voice Secretary: add or edit a secretary, and try it with a typed question. */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_dialplan.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';
	require_once __DIR__.'/resources/classes/voice_secretary_schedule_form.php';

	voice_secretary_ui::require_permission('voice_secretary_add', 'voice_secretary_edit');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';
	$domain_name = (string) $_SESSION['domain_name'];

	$id = (isset($_REQUEST['id']) && voice_secretary_client::is_uuid($_REQUEST['id'])) ? strtolower($_REQUEST['id']) : null;
	$action = $id !== null ? 'update' : 'add';
	if ($action === 'update') {
		voice_secretary_ui::require_permission('voice_secretary_edit');
	}
	else {
		voice_secretary_ui::require_permission('voice_secretary_add');
	}
	//another dialplan context than the domain's own (another tenant's, public) is a superadmin's decision
	$can_context = permission_exists('voice_secretary_context');

	$text_fields = ['name', 'extension', 'language', 'company_name', 'greeting', 'farewell', 'personality_prompt',
		'operator_destination', 'operator_context', 'tts_voice', 'webhook_url'];
	$text_fields[] = 'message_email'; //issue 13: who receives the messages callers leave, by e-mail
	$number_fields = ['max_turns', 'silence_threshold', 'silence_seconds', 'max_record_seconds', 'end_of_turn_ms', 'barge_in_min_ms'];
	$provider_fields = ['stt' => 'stt_provider_uuid', 'tts' => 'tts_provider_uuid', 'llm' => 'llm_provider_uuid', 'embeddings' => 'embeddings_provider_uuid'];

	//the stored secretary (another tenant's id is a 404 from the service: treated as not found)
	$secretary = null;
	if ($id !== null) {
		$secretary = voice_secretary_ui::load($client, 'secretaries', $id, $text, 'voice_secretaries.php');
	}

	//the try-it conversation of this session: it lives while the person stays on this page
	$try_key = 'voice_secretary_try_'.($id ?? 'new');
	$end_try = function (string $outcome = '') use ($client, $try_key) {
		$history = $_SESSION[$try_key] ?? null;
		if (is_array($history) && !empty($history['call_uuid'])) {
			$client->end_try($history['call_uuid'], $outcome !== '' ? $outcome : (count($history['turns'] ?? []) > 0 ? 'hangup' : 'abandoned'));
		}
		unset($_SESSION[$try_key]);
	};

	$errors = [];
	if ($_SERVER['REQUEST_METHOD'] === 'POST') {
		voice_secretary_ui::require_token($text, 'voice_secretaries.php');
		$posted_action = voice_secretary_ui::param($_POST, 'submit_action') ?: 'save';

		if ($posted_action === 'console') {
			//Open console: a token for this secretary only, and the browser goes to the service's console page with it
			$base = voice_secretary_client::console_base_url();
			$minted = $id !== null ? $client->console_token($id) : null;
			if ($minted !== null && $minted->ok() && $base !== null && is_string($minted->data['console_path'] ?? null)) {
				header('Location: '.$base.$minted->data['console_path']);
				exit;
			}
			if ($minted !== null && !$minted->ok()) {
				voice_secretary_ui::fail($minted);
			}
			else {
				message::add($text['message-console_failed'], 'negative');
			}
			header('Location: voice_secretary_edit.php?id='.urlencode((string) $id));
			exit;
		}
		if ($posted_action === 'try_end') {
			//the page was left (sent by the browser as it goes): the caller "hung up"
			$end_try();
			http_response_code(204);
			exit;
		}
		if ($posted_action === 'try' || $posted_action === 'try_reset') {
			//the try-it box: a typed question through the telephony API, as a call would ask it
			$history = $_SESSION[$try_key] ?? ['call_uuid' => null, 'turns' => []];
			if ($posted_action === 'try_reset' || $id === null) {
				$end_try();
			}
			else {
				$question = mb_substr((string) voice_secretary_ui::post('question'), 0, 500);
				if ($question !== '') {
					if (empty($history['call_uuid'])) {
						$history = ['call_uuid' => 'fusionpbx-try-'.bin2hex(random_bytes(12)), 'turns' => []];
					}
					$answer = $client->try_question($id, $history['call_uuid'], $question);
					if ($answer->ok()) {
						$answer_action = (string) ($answer->data['action'] ?? 'continue');
						$history['turns'][] = [
							'question' => $question,
							'transcript' => (string) ($answer->data['transcript'] ?? $question),
							'response' => (string) ($answer->data['response_text'] ?? ''),
							'action' => $answer_action,
							'transfer' => $answer->data['transfer'] ?? null,
							'total_ms' => $answer->data['timings']['total_ms'] ?? null,
						];
						$outcome = voice_secretary_client::outcome_of($answer_action);
						if ($outcome !== null) {
							//the secretary ended the call: stored with its real outcome; the next question starts a new one
							$client->end_try($history['call_uuid'], $outcome);
							$history['call_uuid'] = null;
						}
						$history['shown'] = false;
						$_SESSION[$try_key] = $history;
					}
					else {
						voice_secretary_ui::fail($answer);
					}
				}
			}
			header('Location: voice_secretary_edit.php?id='.urlencode((string) $id).'#try');
			exit;
		}

		//save: the service validates every field (one round of errors); the app adds only what FusionPBX knows
		$data = [];
		foreach ($text_fields as $field) {
			$data[$field] = voice_secretary_ui::post($field);
		}
		foreach ($number_fields as $field) {
			$value = voice_secretary_ui::post($field);
			if ($value !== null) {
				$data[$field] = is_numeric($value) ? (int) $value : $value;
			}
		}
		foreach ($provider_fields as $field) {
			$value = voice_secretary_ui::post($field);
			$data[$field] = voice_secretary_client::is_uuid($value) ? $value : null;
		}
		$data['enabled'] = voice_secretary_ui::param($_POST, 'enabled') !== 'false';
		$data['call_mode'] = voice_secretary_ui::post('call_mode') ?? 'turn';
		$data['barge_in'] = voice_secretary_ui::param($_POST, 'barge_in') !== 'false';
		$data['language'] = $data['language'] ?? 'pt-BR';
		$data += voice_secretary_schedule_form::fields(voice_secretary_ui::post('opening_hours')); //opening hours
		$secret = voice_secretary_ui::post('webhook_secret');
		if ($secret !== null) {
			$data['webhook_secret'] = $secret; //write-only: sent only when typed
		}
		elseif (voice_secretary_ui::param($_POST, 'webhook_secret_clear') === 'true') {
			$data['webhook_secret'] = null;
		}
		//transfers stay inside the tenant: the context is checked only when it changes, so a context a superadmin
		//set does not stop the tenant's admin from saving anything else (it is shown read-only to them)
		$stored_context = (string) ($secretary['operator_context'] ?? '');
		if ((string) $data['operator_context'] === $stored_context) {
			if ($action === 'update') {
				unset($data['operator_context']);
			}
		}
		elseif ($data['operator_context'] !== null && $data['operator_context'] !== $domain_name && !$can_context) {
			$errors['operator_context'] = $text['message-context'];
		}
		$conflict = voice_secretary_dialplan::conflict((string) $data['extension'], (string) $id, $client->domain_uuid(), $domain_name);
		if ($conflict !== null) {
			$errors['extension'] = $text['message-extension_taken'];
		}
		if (count($errors) === 0) {
			$response = $action === 'update' ? $client->update('secretaries', $id, $data) : $client->create('secretaries', $data);
			if ($response->ok()) {
				$saved = $response->data;
				if (!voice_secretary_dialplan::sync($saved, $client->domain_uuid(), $domain_name)) {
					message::add($text['message-dialplan_failed'], 'negative');
				}
				message::add($text[$action === 'update' ? 'message-update' : 'message-add']);
				header('Location: voice_secretary_edit.php?id='.urlencode((string) $saved['voice_secretary_uuid']));
				exit;
			}
			$errors = $response->field_errors();
			if (count($errors) === 0) {
				$errors[''] = $response->message();
			}
		}
		//show the form again with what was typed
		$secretary = array_merge($secretary ?? [], $data, ['webhook_secret' => $secretary['webhook_secret'] ?? null]);
		voice_secretary_ui::not_saved($errors, $text);
	}
	elseif (!empty($_SESSION[$try_key])) {
		//the page opened again (not right after a question): a conversation left open is over
		if (($_SESSION[$try_key]['shown'] ?? true) === false) {
			$_SESSION[$try_key]['shown'] = true;
		}
		else {
			$end_try();
		}
	}

	$values = $secretary ?? ['language' => 'pt-BR', 'max_turns' => 10, 'silence_threshold' => 300,
		'silence_seconds' => 2, 'max_record_seconds' => 15, 'enabled' => true,
		'call_mode' => 'turn', 'end_of_turn_ms' => 600, 'barge_in' => true, 'barge_in_min_ms' => 300];
	$value = function (string $field) use ($values) {
		return $values[$field] ?? '';
	};

	//the tenant's providers, for the per-secretary choice (empty: the tenant's default chain)
	$provider_options = [];
	foreach (array_keys($provider_fields) as $type) {
		$provider_options[$type] = ['' => $text['option-tenant_default']];
	}
	foreach ($client->all('providers') as $provider) {
		$type = (string) ($provider['provider_type'] ?? '');
		if (isset($provider_options[$type])) {
			$label = ($provider['provider_name'] ?? '').(!empty($provider['description']) ? ' — '.$provider['description'] : '');
			$provider_options[$type][(string) ($provider['voice_ai_provider_uuid'] ?? '')] = $label;
		}
	}

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);

	$document['title'] = $text['title-voice_secretary'];
	require_once 'resources/header.php';

	echo "<form name='frm' id='frm' method='post'>\n";
	$buttons = button::create(['type' => 'button', 'label' => $text['button-back'], 'icon' => 'arrow-left', 'id' => 'btn_back', 'link' => 'voice_secretaries.php']);
	if ($id !== null) {
		//the console opens in a new tab, through its own small form (below): a POST with this page's token
		$buttons .= button::create(['type' => 'button', 'label' => $text['button-console'], 'icon' => 'microphone', 'id' => 'btn_console', 'title' => $text['description-console'], 'onclick' => "document.getElementById('form_console').submit();", 'style' => 'margin-left: 15px;']);
	}
	$buttons .= button::create(['type' => 'submit', 'label' => $text['button-save'], 'icon' => 'check', 'id' => 'btn_save', 'name' => 'submit_action', 'value' => 'save', 'style' => 'margin-left: 15px;']);
	echo voice_secretary_ui::action_bar($text['title-voice_secretary'], $buttons);
	$fields = array_merge($text_fields, $number_fields, array_values($provider_fields), ['webhook_secret', 'enabled', 'call_mode', 'barge_in', 'voice_schedule_uuid', 'time_condition_uuid']);
	echo $ui::errors_box($errors, $fields);
	$error = function (string $field) use ($errors) {
		return $errors[$field] ?? '';
	};

	echo "<div class='card'>\n<table width='100%' border='0' cellpadding='0' cellspacing='0'>\n";
	echo $ui::row($text['label-name'], $ui::input('name', $value('name'), 'text', ['maxlength' => '200', 'required' => 'required']), $text['description-name'], true, $error('name'));
	echo $ui::row($text['label-extension'], $ui::input('extension', $value('extension'), 'text', ['maxlength' => '20']), $text['description-extension'], false, $error('extension'));
	echo $ui::row($text['label-language'], $ui::select('language', $value('language'), ['pt-BR' => 'Português (Brasil)', 'en-US' => 'English (US)']), $text['description-language'], true, $error('language'));
	echo $ui::row($text['label-company_name'], $ui::input('company_name', $value('company_name')), $text['description-company_name'], false, $error('company_name'));
	echo $ui::row($text['label-greeting'], $ui::textarea('greeting', $value('greeting'), 2), $text['description-greeting'], false, $error('greeting'));
	echo $ui::row($text['label-farewell'], $ui::textarea('farewell', $value('farewell'), 2), $text['description-farewell'], false, $error('farewell'));
	echo $ui::row($text['label-personality_prompt'], $ui::textarea('personality_prompt', $value('personality_prompt'), 5), $text['description-personality_prompt'], false, $error('personality_prompt'));
	echo $ui::row($text['label-operator_destination'], $ui::input('operator_destination', $value('operator_destination')), $text['description-operator_destination'], false, $error('operator_destination'));
	$context_attributes = ['placeholder' => $domain_name];
	if (!$can_context) {
		$context_attributes += ['readonly' => 'readonly', 'title' => $text['description-context_locked']];
	}
	echo $ui::row($text['label-operator_context'], $ui::input('operator_context', $value('operator_context'), 'text', $context_attributes), $text['description-operator_context'], false, $error('operator_context'));
	echo $ui::row($text['label-opening_hours'], $ui::select('opening_hours', voice_secretary_schedule_form::selected($values), voice_secretary_schedule_form::options($client, $text)), $text['description-opening_hours_secretary'], false, $error('voice_schedule_uuid') ?: $error('time_condition_uuid'));
	echo $ui::row($text['label-max_turns'], $ui::input('max_turns', $value('max_turns'), 'number', ['min' => '1', 'max' => '100']), $text['description-max_turns'], false, $error('max_turns'));
	echo $ui::row($text['label-silence_threshold'], $ui::input('silence_threshold', $value('silence_threshold'), 'number', ['min' => '1', 'max' => '10000']), $text['description-silence_threshold'], false, $error('silence_threshold'));
	echo $ui::row($text['label-silence_seconds'], $ui::input('silence_seconds', $value('silence_seconds'), 'number', ['min' => '1', 'max' => '30']), $text['description-silence_seconds'], false, $error('silence_seconds'));
	echo $ui::row($text['label-max_record_seconds'], $ui::input('max_record_seconds', $value('max_record_seconds'), 'number', ['min' => '2', 'max' => '120']), $text['description-max_record_seconds'], false, $error('max_record_seconds'));
	echo $ui::row($text['label-call_mode'], $ui::select('call_mode', $value('call_mode'), ['turn' => $text['option-call_mode_turn'], 'stream' => $text['option-call_mode_stream']]), $text['description-call_mode'], false, $error('call_mode'));
	echo $ui::row($text['label-end_of_turn_ms'], $ui::input('end_of_turn_ms', $value('end_of_turn_ms'), 'number', ['min' => '200', 'max' => '3000', 'step' => '50']), $text['description-end_of_turn_ms'], false, $error('end_of_turn_ms'));
	echo $ui::row($text['label-barge_in'], $ui::boolean('barge_in', $values['barge_in'] ?? true, $text), $text['description-barge_in'], false, $error('barge_in'));
	echo $ui::row($text['label-barge_in_min_ms'], $ui::input('barge_in_min_ms', $value('barge_in_min_ms'), 'number', ['min' => '100', 'max' => '2000', 'step' => '50']), $text['description-barge_in_min_ms'], false, $error('barge_in_min_ms'));
	foreach ($provider_fields as $type => $field) {
		echo $ui::row($text['label-provider_'.$type], $ui::select($field, $value($field), $provider_options[$type]), $text['description-provider'], false, $error($field));
	}
	echo $ui::row($text['label-tts_voice'], $ui::input('tts_voice', $value('tts_voice')), $text['description-tts_voice'], false, $error('tts_voice'));
	echo $ui::row($text['label-webhook_url'], $ui::input('webhook_url', $value('webhook_url'), 'url'), $text['description-webhook_url'], false, $error('webhook_url'));
	$secret_input = $ui::input('webhook_secret', '', 'password', ['autocomplete' => 'new-password', 'placeholder' => $value('webhook_secret') !== '' ? $text['label-secret_set'].' ('.$value('webhook_secret').')' : '']);
	if ($value('webhook_secret') !== '') {
		$secret_input .= " <label><input type='checkbox' name='webhook_secret_clear' value='true'> ".$ui::h($text['label-secret_clear']).'</label>';
	}
	echo $ui::row($text['label-webhook_secret'], $secret_input, $text['description-webhook_secret'], false, $error('webhook_secret'));
	echo $ui::row($text['label-message_email'], $ui::input('message_email', $value('message_email'), 'text', ['maxlength' => '1000', 'placeholder' => 'recepcao@example.com, carlos@example.com']), $text['description-message_email'], false, $error('message_email'));
	echo $ui::row($text['label-enabled'], $ui::boolean('enabled', $values['enabled'] ?? true, $text), $text['description-enabled'], false, $error('enabled'));
	echo "</table>\n</div>\n";
	if ($id !== null) {
		echo "<input type='hidden' name='id' value='".$ui::h($id)."'>\n";
	}
	echo $ui::token_fields($token);
	echo "</form>\n";
	if ($id !== null) {
		echo "<form id='form_console' method='post' target='_blank' rel='noopener' action='voice_secretary_edit.php?id=".$ui::h(urlencode($id))."'>\n";
		echo "<input type='hidden' name='submit_action' value='console'>\n";
		echo $ui::token_fields($token);
		echo "</form>\n";
	}

	//try it: the conversation so far (a card only once there is one), then the question, in its own card
	if ($id !== null) {
		$history = $_SESSION[$try_key] ?? ['call_uuid' => null, 'turns' => []];
		echo "<br /><a name='try'></a>\n<form id='form_try' method='post' action='voice_secretary_edit.php?id=".$ui::h(urlencode($id))."'>\n";
		$buttons = button::create(['type' => 'submit', 'label' => $text['button-ask'], 'icon' => 'comment', 'id' => 'btn_try', 'name' => 'submit_action', 'value' => 'try']);
		if (count($history['turns']) > 0) {
			$buttons .= button::create(['type' => 'submit', 'label' => $text['button-new_conversation'], 'icon' => 'rotate', 'id' => 'btn_try_reset', 'name' => 'submit_action', 'value' => 'try_reset']);
		}
		echo $ui::action_bar($text['header-try'], $buttons, null, true);
		echo $ui::h($text['description-try'])."<br /><br />\n";
		if (count($history['turns']) > 0) {
			echo "<div class='card' id='try_transcript'>\n<table class='list'>\n";
			echo "<tr class='list-header'><th>".$ui::h($text['label-who'])."</th><th>".$ui::h($text['label-text'])."</th><th>".$ui::h($text['label-action'])."</th><th class='right'>".$ui::h($text['label-time'])."</th></tr>\n";
			foreach ($history['turns'] as $turn) {
				$transfer = is_array($turn['transfer']) ? ' → '.($turn['transfer']['department'] ?? $text['label-operator']).' ('.($turn['transfer']['destination'] ?? '').')' : '';
				$action_label = $text['option-action_'.$turn['action']] ?? $turn['action'];
				echo "<tr class='list-row'><td>".$ui::h($text['label-caller'])."</td><td class='try-question'>".$ui::h($turn['question'])."</td><td></td><td></td></tr>\n";
				echo "<tr class='list-row'><td>".$ui::h($text['label-secretary'])."</td><td><span class='try-response'>".$ui::h($turn['response'])."</span></td>";
				echo "<td><span class='try-action' data-action='".$ui::h($turn['action'])."'>".$ui::h($action_label.$transfer)."</span></td>";
				echo "<td class='right'>".($turn['total_ms'] !== null ? "<span class='try-time'>".$ui::h(round((float) $turn['total_ms'])).' ms</span>' : '')."</td></tr>\n";
			}
			echo "</table>\n</div>\n";
		}
		echo "<div class='card'>\n<table width='100%' border='0' cellpadding='0' cellspacing='0'>\n";
		echo $ui::row($text['label-question'], $ui::input('question', '', 'text', ['maxlength' => '500', 'placeholder' => $text['description-question'], 'style' => 'width: 100%; max-width: 600px;']));
		echo "</table>\n</div>\n";
		echo $ui::token_fields($token);
		echo "</form>\n";
		if (!empty($history['call_uuid'])) {
			//leaving the page ends the conversation (the page's own forms keep it going)
			echo "<script>\n(function () {\n";
			echo "\tvar staying = false;\n";
			echo "\tdocument.querySelectorAll('#form_try, #frm').forEach(function (form) { form.addEventListener('submit', function () { staying = true; }); });\n";
			echo "\twindow.addEventListener('pagehide', function () {\n";
			echo "\t\tif (staying || !navigator.sendBeacon) { return; }\n";
			echo "\t\tvar data = new FormData();\n";
			echo "\t\tdata.append('submit_action', 'try_end');\n";
			echo "\t\tdata.append(".json_encode((string) $token['name']).", ".json_encode((string) $token['hash']).");\n";
			echo "\t\tnavigator.sendBeacon('voice_secretary_edit.php?id=".$ui::h(urlencode($id))."', data);\n";
			echo "\t});\n})();\n</script>\n";
		}
	}

	require_once 'resources/footer.php';
