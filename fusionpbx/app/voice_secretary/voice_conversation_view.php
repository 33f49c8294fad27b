<?php
/* Voice Secretary: one conversation — caller, outcome, summary and the transcript with per-turn timings. */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';

	voice_secretary_ui::require_permission('voice_conversation_view');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';

	$id = voice_secretary_client::is_uuid(voice_secretary_ui::param($_GET, 'id')) ? strtolower($_GET['id']) : null;
	$response = $id !== null ? $client->get('conversations', $id) : null;
	if ($response === null || !$response->ok()) {
		$response !== null && $response->status !== 404 ? voice_secretary_ui::fail($response) : message::add($text['message-not_found'], 'negative');
		header('Location: voice_conversations.php');
		exit;
	}
	$conversation = $response->data;

	//delete (a caller's request to erase their data)
	if ($_SERVER['REQUEST_METHOD'] === 'POST' && voice_secretary_ui::param($_POST, 'action') === 'delete') {
		voice_secretary_ui::require_token($text, 'voice_conversations.php');
		voice_secretary_ui::require_permission('voice_conversation_delete');
		$deleted = $client->delete('conversations', $id);
		$deleted->ok() ? message::add($text['message-delete']) : voice_secretary_ui::fail($deleted);
		header('Location: voice_conversations.php');
		exit;
	}
	//issue 13: mark a message the caller left read (or unread)
	if ($_SERVER['REQUEST_METHOD'] === 'POST' && in_array(voice_secretary_ui::param($_POST, 'action'), ['mark_read', 'mark_unread'], true)) {
		voice_secretary_ui::require_token($text, 'voice_conversation_view.php?id='.urlencode($id));
		voice_secretary_ui::require_permission('voice_caller_message_edit');
		$message_id = voice_secretary_ui::param($_POST, 'caller_message_uuid');
		if (voice_secretary_client::is_uuid($message_id)) {
			$marked = $client->update('caller-messages', $message_id, ['status' => $_POST['action'] === 'mark_read' ? 'read' : 'new']);
			$marked->ok() ? message::add($text['message-message_marked']) : voice_secretary_ui::fail($marked);
		}
		header('Location: voice_conversation_view.php?id='.urlencode($id));
		exit;
	}
	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);

	$document['title'] = $text['title-voice_conversation'];
	require_once 'resources/header.php';

	echo "<form id='form_delete' method='post' action='voice_conversation_view.php?id=".$ui::h(urlencode($id))."'>\n";
	$buttons = button::create(['type' => 'button', 'label' => $text['button-back'], 'icon' => 'arrow-left', 'id' => 'btn_back', 'link' => 'voice_conversations.php']);
	if (permission_exists('voice_conversation_delete')) {
		//FusionPBX's confirmation modal, as its edit pages delete
		$buttons .= button::create(['type' => 'button', 'label' => $text['button-delete'], 'icon' => 'trash', 'name' => 'btn_delete', 'style' => 'margin-left: 15px;', 'onclick' => "modal_open('modal-delete','btn_delete');"]);
	}
	echo $ui::action_bar($text['title-voice_conversation'], $buttons);
	if (permission_exists('voice_conversation_delete')) {
		$continue = button::create(['type' => 'submit', 'label' => $text['button-continue'], 'icon' => 'check', 'id' => 'btn_delete', 'style' => 'float: right; margin-left: 15px;', 'collapse' => 'never', 'name' => 'action', 'value' => 'delete', 'onclick' => 'modal_close();']);
		echo modal::create(['id' => 'modal-delete', 'type' => 'general', 'title' => $text['modal_title-confirmation'], 'message' => $text['confirm-delete_conversation'], 'actions' => $continue])."\n";
	}
	echo $ui::token_fields($token);
	echo "</form>\n";

	$outcome = !empty($conversation['outcome']) ? ($text['option-outcome_'.$conversation['outcome']] ?? $conversation['outcome']) : $text['label-in_progress'];
	if (!empty($conversation['transfer_destination'])) {
		$outcome .= ' → '.(($conversation['transfer_department'] ?? '') ?: $text['label-operator']).' ('.$conversation['transfer_destination'].')';
	}
	$duration = '';
	if (!empty($conversation['ended_at']) && !empty($conversation['started_at'])) {
		$duration = (strtotime($conversation['ended_at']) - strtotime($conversation['started_at'])).' s';
	}
	echo "<div class='card'>\n<table width='100%' border='0' cellpadding='0' cellspacing='0'>\n";
	echo $ui::row($text['label-caller'], $ui::h(trim(($conversation['caller_id_name'] ?? '').' '.($conversation['caller_id_number'] ?? ''))));
	echo $ui::row($text['label-started'], $ui::h($ui::local_time($conversation['started_at'] ?? null).($duration !== '' ? ' ('.$duration.')' : '')));
	echo $ui::row($text['label-outcome'], "<span id='conversation_outcome'>".$ui::h($outcome).'</span>');
	echo $ui::row($text['label-summary'], $ui::h($conversation['summary'] ?? ''));
	echo $ui::row($text['label-call_uuid'], $ui::h($conversation['call_uuid'] ?? ''));
	echo "</table>\n</div>\n<br />\n";

	//issue 13: the messages the caller left in this call
	$caller_messages = (array) ($conversation['caller_messages'] ?? []);
	if (count($caller_messages) > 0) {
		echo "<b>".$ui::h($text['label-caller_messages'])."</b>\n<br /><br />\n";
		echo "<div class='card'>\n<table class='list' id='caller_messages'>\n<tr class='list-header'>\n";
		foreach (['label-callback_name', 'label-callback_number', 'label-caller_message', 'label-message_status', ''] as $label) {
			echo "\t<th>".($label !== '' ? $ui::h($text[$label]) : '&nbsp;')."</th>\n";
		}
		echo "</tr>\n";
		foreach ($caller_messages as $caller_message) {
			$message_status = (string) ($caller_message['status'] ?? '');
			$status_label = $text['option-message_status_'.$message_status] ?? $message_status;
			if (empty($caller_message['confirmed']) && $message_status !== 'cancelled') {
				$status_label .= ' ('.$text['label-message_unconfirmed'].')';
			}
			echo "<tr class='list-row caller-message caller-message-".$ui::h($message_status)."'>\n";
			echo "\t<td>".$ui::h($caller_message['caller_name'] ?? '')."</td>\n";
			echo "\t<td>".$ui::h($caller_message['callback_number'] ?? '')."</td>\n";
			echo "\t<td class='caller-message-body'>".$ui::h($caller_message['body'] ?? '')."</td>\n";
			echo "\t<td class='caller-message-status'>".$ui::h($status_label)."</td>\n";
			echo "\t<td class='no-wrap'>";
			if (in_array($message_status, ['new', 'read'], true) && permission_exists('voice_caller_message_edit')) {
				$mark = $message_status === 'new' ? 'mark_read' : 'mark_unread';
				echo "<form method='post' id='form_".$ui::h($mark.'_'.($caller_message['voice_caller_message_uuid'] ?? ''))."' action='voice_conversation_view.php?id=".$ui::h(urlencode($id))."'>";
				echo "<input type='hidden' name='caller_message_uuid' value='".$ui::h($caller_message['voice_caller_message_uuid'] ?? '')."'>";
				echo $ui::token_fields($token);
				echo button::create(['type' => 'submit', 'label' => $text['button-'.$mark], 'icon' => $mark === 'mark_read' ? 'envelope-open' : 'envelope', 'name' => 'action', 'value' => $mark, 'collapse' => 'never']);
				echo "</form>";
			}
			echo "</td>\n</tr>\n";
		}
		echo "</table>\n</div>\n<br />\n";
	}

	echo "<div class='card'>\n<table class='list' id='transcript'>\n<tr class='list-header'>\n";
	foreach (['label-turn', 'label-who', 'label-text', 'label-action', 'label-timings'] as $label) {
		echo "\t<th>".$ui::h($text[$label])."</th>\n";
	}
	echo "</tr>\n";
	$who = ['user' => $text['label-caller'], 'assistant' => $text['label-secretary'], 'system' => $text['label-event']];
	foreach ((array) ($conversation['messages'] ?? []) as $message) {
		$timings = [];
		foreach ((array) ($message['timings'] ?? []) as $stage => $ms) {
			if (is_numeric($ms)) {
				$timings[] = str_replace('_ms', '', (string) $stage).' '.round((float) $ms).' ms';
			}
		}
		$providers = [];
		foreach ((array) ($message['providers_used'] ?? []) as $kind => $name) {
			if (is_string($name)) {
				$providers[] = $kind.': '.$name;
			}
		}
		$role = (string) ($message['role'] ?? '');
		echo "<tr class='list-row message-".$ui::h($role)."'>\n";
		echo "\t<td>".$ui::h($message['turn_index'] ?? '')."</td>\n";
		echo "\t<td>".$ui::h($who[$role] ?? $role)."</td>\n";
		echo "\t<td>".$ui::h($message['text'] ?? '')."</td>\n";
		$message_action = (string) ($message['action'] ?? '');
		echo "\t<td>".$ui::h($message_action !== '' ? ($text['option-action_'.$message_action] ?? $message_action) : '')."</td>\n";
		echo "\t<td class='message-timings'>".$ui::h(implode(', ', $timings));
		if (count($providers) > 0) {
			echo "<br /><small>".$ui::h(implode(', ', $providers))."</small>";
		}
		//the reply's tool calls (issue 13, docs/tools.md): name and outcome
		$tool_calls = [];
		foreach ((array) ($message['tool_calls'] ?? []) as $call) {
			if (is_array($call)) {
				$tool_calls[] = (string) ($call['tool'] ?? '?').' '.(!empty($call['ok']) ? $text['label-tool_ok'] : $text['label-tool_failed'].(!empty($call['error']) ? ' ('.$call['error'].')' : ''));
			}
		}
		if (count($tool_calls) > 0) {
			echo "<br /><small class='message-tools'>".$ui::h($text['title-voice_tools'].': '.implode(', ', $tool_calls))."</small>";
		}
		echo "</td>\n</tr>\n";
	}
	echo "</table>\n</div>\n";
	require_once 'resources/footer.php';
