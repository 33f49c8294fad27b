<?php
/* Voice Secretary: add or edit a schedule (opening hours and holidays, docs/opening-hours.md). */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';
	require_once __DIR__.'/resources/classes/voice_secretary_schedule_form.php';

	voice_secretary_ui::require_permission('voice_schedule_add', 'voice_schedule_edit');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';
	$form = 'voice_secretary_schedule_form';

	$id = (isset($_REQUEST['id']) && voice_secretary_client::is_uuid($_REQUEST['id'])) ? strtolower($_REQUEST['id']) : null;
	$action = $id !== null ? 'update' : 'add';
	voice_secretary_ui::require_permission($action === 'update' ? 'voice_schedule_edit' : 'voice_schedule_add');

	$schedule = null;
	if ($id !== null) {
		$schedule = voice_secretary_ui::load($client, 'schedules', $id, $text, 'voice_schedules.php');
	}

	$errors = [];
	$hours_text = $form::hours_text((array) ($schedule['hours'] ?? []));
	$holidays_text = $form::holidays_text((array) ($schedule['holidays'] ?? []));
	if ($_SERVER['REQUEST_METHOD'] === 'POST') {
		voice_secretary_ui::require_token($text, 'voice_schedules.php');
		$hours_text = voice_secretary_ui::param($_POST, 'hours');
		$holidays_text = voice_secretary_ui::param($_POST, 'holidays');
		[$hours, $bad_hours] = $form::parse_hours($hours_text);
		[$holidays, $bad_holidays] = $form::parse_holidays($holidays_text);
		$data = [
			'name' => voice_secretary_ui::post('name'),
			'time_zone' => voice_secretary_ui::post('time_zone') ?? 'America/Sao_Paulo',
			'description' => voice_secretary_ui::post('description'),
			'hours' => $hours,
			'holidays' => $holidays,
			'enabled' => voice_secretary_ui::param($_POST, 'enabled') !== 'false',
		];
		if ($bad_hours > 0) {
			$errors['hours'] = sprintf($text['message-schedule_line'], $bad_hours);
		}
		if ($bad_holidays > 0) {
			$errors['holidays'] = sprintf($text['message-schedule_line'], $bad_holidays);
		}
		if (count($errors) === 0) {
			$response = $action === 'update' ? $client->update('schedules', $id, $data) : $client->create('schedules', $data);
			if ($response->ok()) {
				message::add($text[$action === 'update' ? 'message-update' : 'message-add']);
				header('Location: voice_schedules.php');
				exit;
			}
			$errors = $response->field_errors() ?: ['' => $response->message()];
		}
		$schedule = array_merge($schedule ?? [], $data);
		voice_secretary_ui::not_saved($errors, $text);
	}

	$values = $schedule ?? ['time_zone' => 'America/Sao_Paulo', 'enabled' => true];
	$value = function (string $field) use ($values) {
		return $values[$field] ?? '';
	};
	$error = function (string $field) use ($errors) {
		return $errors[$field] ?? '';
	};

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);
	$document['title'] = $text['title-voice_schedule'];
	require_once 'resources/header.php';

	echo "<form name='frm' id='frm' method='post'>\n";
	$buttons = button::create(['type' => 'button', 'label' => $text['button-back'], 'icon' => 'arrow-left', 'id' => 'btn_back', 'link' => 'voice_schedules.php']);
	$buttons .= button::create(['type' => 'submit', 'label' => $text['button-save'], 'icon' => 'check', 'id' => 'btn_save', 'style' => 'margin-left: 15px;']);
	echo $ui::action_bar($text['title-voice_schedule'], $buttons);
	echo $ui::errors_box($errors, ['name', 'time_zone', 'description', 'hours', 'holidays', 'enabled']);
	echo "<div class='card'>\n<table width='100%' border='0' cellpadding='0' cellspacing='0'>\n";
	echo $ui::row($text['label-name'], $ui::input('name', $value('name'), 'text', ['maxlength' => '200', 'required' => 'required']), $text['description-schedule_name'], true, $error('name'));
	echo $ui::row($text['label-time_zone'], $ui::input('time_zone', $value('time_zone'), 'text', ['maxlength' => '64', 'placeholder' => 'America/Sao_Paulo']), $text['description-time_zone'], true, $error('time_zone'));
	echo $ui::row($text['label-hours'], $ui::textarea('hours', $hours_text, 5), $text['description-hours'], false, $error('hours'));
	echo $ui::row($text['label-holidays'], $ui::textarea('holidays', $holidays_text, 5), $text['description-holidays'], false, $error('holidays'));
	echo $ui::row($text['label-description'], $ui::textarea('description', $value('description'), 2), '', false, $error('description'));
	echo $ui::row($text['label-enabled'], $ui::boolean('enabled', $values['enabled'] ?? true, $text), $text['description-schedule_enabled'], false, $error('enabled'));
	echo "</table>\n</div>\n";
	if ($id !== null) {
		echo "<input type='hidden' name='id' value='".$ui::h($id)."'>\n";
	}
	echo $ui::token_fields($token);
	echo "</form>\n";
	require_once 'resources/footer.php';
