<?php
/* Voice Secretary: add or edit a transfer rule. */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';
	require_once __DIR__.'/resources/classes/voice_secretary_schedule_form.php';

	voice_secretary_ui::require_permission('voice_transfer_rule_add', 'voice_transfer_rule_edit');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';
	$domain_name = (string) $_SESSION['domain_name'];
	//another dialplan context than the domain's own (another tenant's, public) is a superadmin's decision
	$can_context = permission_exists('voice_secretary_context');

	$id = (isset($_REQUEST['id']) && voice_secretary_client::is_uuid($_REQUEST['id'])) ? strtolower($_REQUEST['id']) : null;
	$action = $id !== null ? 'update' : 'add';
	voice_secretary_ui::require_permission($action === 'update' ? 'voice_transfer_rule_edit' : 'voice_transfer_rule_add');

	$rule = null;
	if ($id !== null) {
		$rule = voice_secretary_ui::load($client, 'transfer-rules', $id, $text, 'voice_transfer_rules.php');
	}

	$errors = [];
	if ($_SERVER['REQUEST_METHOD'] === 'POST') {
		voice_secretary_ui::require_token($text, 'voice_transfer_rules.php');
		$keywords = [];
		foreach (explode(',', voice_secretary_ui::param($_POST, 'keywords')) as $keyword) {
			if (trim($keyword) !== '') {
				$keywords[] = trim($keyword);
			}
		}
		$secretary = voice_secretary_ui::post('voice_secretary_uuid');
		$priority = voice_secretary_ui::post('priority');
		$ring_seconds = voice_secretary_ui::post('ring_seconds');
		$data = [
			'department_name' => voice_secretary_ui::post('department_name'),
			'destination_number' => voice_secretary_ui::post('destination_number'),
			'destination_context' => voice_secretary_ui::post('destination_context'),
			'description' => voice_secretary_ui::post('description'),
			'keywords' => $keywords,
			'voice_secretary_uuid' => voice_secretary_client::is_uuid($secretary) ? $secretary : null,
			'priority' => $priority === null ? 100 : (is_numeric($priority) ? (int) $priority : $priority),
			'enabled' => voice_secretary_ui::param($_POST, 'enabled') !== 'false',
			//transfers that come back (docs/transfers.md): empty ring time = the default (30 s)
			'ring_seconds' => $ring_seconds === null ? null : (is_numeric($ring_seconds) ? (int) $ring_seconds : $ring_seconds),
			'announce' => voice_secretary_ui::param($_POST, 'announce') === 'true',
		];
		$data += voice_secretary_schedule_form::fields(voice_secretary_ui::post('opening_hours')); //opening hours
		//transfers stay inside the tenant: the context is checked only when it changes (see voice_secretary_edit.php);
		//everything else is validated by the service, all at once
		$stored_context = (string) ($rule['destination_context'] ?? '');
		if ((string) $data['destination_context'] === $stored_context) {
			if ($action === 'update') {
				unset($data['destination_context']);
			}
		}
		elseif ($data['destination_context'] !== null && $data['destination_context'] !== $domain_name && !$can_context) {
			$errors['destination_context'] = $text['message-context'];
		}
		if (count($errors) === 0) {
			$response = $action === 'update' ? $client->update('transfer-rules', $id, $data) : $client->create('transfer-rules', $data);
			if ($response->ok()) {
				message::add($text[$action === 'update' ? 'message-update' : 'message-add']);
				header('Location: voice_transfer_rules.php');
				exit;
			}
			$errors = $response->field_errors() ?: ['' => $response->message()];
		}
		$rule = array_merge($rule ?? [], $data);
		voice_secretary_ui::not_saved($errors, $text);
	}

	$values = $rule ?? ['priority' => 100, 'enabled' => true, 'keywords' => []];
	$value = function (string $field) use ($values) {
		return $values[$field] ?? '';
	};
	$error = function (string $field) use ($errors) {
		return $errors[$field] ?? '';
	};
	$secretaries = ['' => $text['option-all_secretaries']];
	foreach ($client->all('secretaries') as $secretary) {
		$secretaries[(string) ($secretary['voice_secretary_uuid'] ?? '')] = ($secretary['name'] ?? '').(!empty($secretary['extension']) ? ' ('.$secretary['extension'].')' : '');
	}

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);
	$document['title'] = $text['title-voice_transfer_rule'];
	require_once 'resources/header.php';

	echo "<form name='frm' id='frm' method='post'>\n";
	$buttons = button::create(['type' => 'button', 'label' => $text['button-back'], 'icon' => 'arrow-left', 'id' => 'btn_back', 'link' => 'voice_transfer_rules.php']);
	$buttons .= button::create(['type' => 'submit', 'label' => $text['button-save'], 'icon' => 'check', 'id' => 'btn_save', 'style' => 'margin-left: 15px;']);
	echo $ui::action_bar($text['title-voice_transfer_rule'], $buttons);
	echo $ui::errors_box($errors, ['department_name', 'destination_number', 'destination_context', 'description', 'keywords', 'voice_secretary_uuid', 'priority', 'enabled', 'voice_schedule_uuid', 'time_condition_uuid', 'ring_seconds', 'announce']);
	echo "<div class='card'>\n<table width='100%' border='0' cellpadding='0' cellspacing='0'>\n";
	echo $ui::row($text['label-department_name'], $ui::input('department_name', $value('department_name'), 'text', ['maxlength' => '200', 'required' => 'required']), $text['description-department_name'], true, $error('department_name'));
	echo $ui::row($text['label-destination_number'], $ui::input('destination_number', $value('destination_number'), 'text', ['maxlength' => '64', 'required' => 'required']), $text['description-destination_number'], true, $error('destination_number'));
	$context_attributes = ['placeholder' => $domain_name];
	if (!$can_context) {
		$context_attributes += ['readonly' => 'readonly', 'title' => $text['description-context_locked']];
	}
	echo $ui::row($text['label-destination_context'], $ui::input('destination_context', $value('destination_context'), 'text', $context_attributes), $text['description-destination_context'], false, $error('destination_context'));
	echo $ui::row($text['label-description'], $ui::textarea('description', $value('description'), 3), $text['description-rule_description'], false, $error('description'));
	echo $ui::row($text['label-keywords'], $ui::input('keywords', implode(', ', (array) ($values['keywords'] ?? [])), 'text', ['style' => 'width: 100%; max-width: 600px;']), $text['description-keywords'], false, $error('keywords'));
	echo $ui::row($text['label-secretary'], $ui::select('voice_secretary_uuid', $value('voice_secretary_uuid'), $secretaries), $text['description-rule_secretary'], false, $error('voice_secretary_uuid'));
	echo $ui::row($text['label-priority'], $ui::input('priority', $value('priority'), 'number', ['min' => '0', 'max' => '10000']), $text['description-priority'], false, $error('priority'));
	echo $ui::row($text['label-opening_hours'], $ui::select('opening_hours', voice_secretary_schedule_form::selected($values), voice_secretary_schedule_form::options($client, $text)), $text['description-opening_hours_rule'], false, $error('voice_schedule_uuid') ?: $error('time_condition_uuid'));
	echo $ui::row($text['label-ring_seconds'], $ui::input('ring_seconds', $value('ring_seconds'), 'number', ['min' => '5', 'max' => '120', 'placeholder' => '30']), $text['description-ring_seconds'], false, $error('ring_seconds'));
	echo $ui::row($text['label-announce'], $ui::boolean('announce', $values['announce'] ?? false, $text), $text['description-announce'], false, $error('announce'));
	echo $ui::row($text['label-enabled'], $ui::boolean('enabled', $values['enabled'] ?? true, $text), $text['description-enabled'], false, $error('enabled'));
	echo "</table>\n</div>\n";
	if ($id !== null) {
		echo "<input type='hidden' name='id' value='".$ui::h($id)."'>\n";
	}
	echo $ui::token_fields($token);
	echo "</form>\n";
	require_once 'resources/footer.php';
