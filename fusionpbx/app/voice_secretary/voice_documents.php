<?php
/* Voice Secretary: the company documents the secretaries answer from (upload, status, delete). */

	require_once dirname(__DIR__, 2).'/resources/require.php';
	require_once 'resources/check_auth.php';
	require_once __DIR__.'/resources/classes/voice_secretary_client.php';
	require_once __DIR__.'/resources/classes/voice_secretary_ui.php';

	voice_secretary_ui::require_permission('voice_document_view');
	$language = new text;
	$text = $language->get();
	$client = voice_secretary_client::from_session();
	$ui = 'voice_secretary_ui';

	if ($_SERVER['REQUEST_METHOD'] === 'POST') {
		$posted_action = voice_secretary_ui::param($_POST, 'action');
		if ($posted_action === 'delete') {
			voice_secretary_ui::bulk_delete($client, 'documents', 'voice_documents', 'voice_document_delete', $text, 'voice_documents.php');
		}
		voice_secretary_ui::require_token($text, 'voice_documents.php');
		if ($posted_action === 'upload') {
			voice_secretary_ui::require_permission('voice_document_add');
			$file = $_FILES['document'] ?? null;
			if (!is_array($file) || ($file['error'] ?? UPLOAD_ERR_NO_FILE) !== UPLOAD_ERR_OK || !is_uploaded_file((string) $file['tmp_name'])) {
				$code = is_array($file) ? (int) ($file['error'] ?? UPLOAD_ERR_NO_FILE) : UPLOAD_ERR_NO_FILE;
				message::add($code === UPLOAD_ERR_INI_SIZE || $code === UPLOAD_ERR_FORM_SIZE ? $text['message-upload_too_large'] : $text['message-upload_missing'], 'negative');
			}
			else {
				$language_code = voice_secretary_ui::post('language');
				$name = basename(str_replace('\\', '/', (string) $file['name']));
				$response = $client->upload_document((string) $file['tmp_name'], $name, $language_code);
				if ($response->ok()) {
					message::add($text['message-uploaded']);
				}
				else {
					voice_secretary_ui::fail($response);
				}
			}
		}
		elseif ($posted_action === 'reindex') {
			voice_secretary_ui::require_permission('voice_document_edit');
			$done = 0;
			foreach (voice_secretary_ui::checked('voice_documents') as $id) {
				$response = $client->reindex_document($id);
				$response->ok() ? $done++ : voice_secretary_ui::fail($response);
			}
			if ($done > 0) {
				message::add($text['message-reindex']);
			}
		}
		header('Location: voice_documents.php');
		exit;
	}

	$response = $client->list('documents', ['limit' => 200]);
	$documents = $response->items();

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);
	$document['title'] = $text['title-voice_documents'];
	require_once 'resources/header.php';

	if (!$response->ok()) {
		echo "<div class='voice-secretary-error' style='color: #c00;'>".$ui::h($response->message())."</div>\n";
	}
	echo "<form id='form_list' method='post'>\n";
	$buttons = $ui::nav($text, 'voice_documents.php');
	if (permission_exists('voice_document_edit') && count($documents) > 0) {
		$buttons .= button::create(['type' => 'submit', 'label' => $text['button-reindex'], 'icon' => 'rotate', 'id' => 'btn_reindex', 'name' => 'action', 'value' => 'reindex']);
	}
	if (permission_exists('voice_document_delete') && count($documents) > 0) {
		$buttons .= button::create(['type' => 'submit', 'label' => $text['button-delete'], 'icon' => 'trash', 'id' => 'btn_delete', 'name' => 'action', 'value' => 'delete', 'onclick' => $ui::confirm($text['confirm-delete'])]);
	}
	echo $ui::action_bar($text['title-voice_documents'], $buttons, count($documents));
	echo $ui::h($text['description-voice_documents'])."\n<br /><br />\n";
	echo "<div class='card'>\n<table class='list'>\n<tr class='list-header'>\n\t<th class='checkbox'></th>\n";
	foreach (['label-name', 'label-status', 'label-chunks', 'label-size', 'label-updated'] as $label) {
		echo "\t<th>".$ui::h($text[$label])."</th>\n";
	}
	echo "</tr>\n";
	$x = 0;
	foreach ($documents as $doc) {
		$doc_status = (string) ($doc['status'] ?? '');
		$status = $text['option-status_'.$doc_status] ?? $doc_status;
		if ($doc_status === 'processing' || $doc_status === 'queued') {
			$status .= ' ('.(int) ($doc['progress'] ?? 0).'%)';
		}
		echo "<tr class='list-row'>\n";
		echo "\t<td class='checkbox'><input type='checkbox' name='voice_documents[".$x."][checked]' value='true'>";
		echo "<input type='hidden' name='voice_documents[".$x."][uuid]' value='".$ui::h($doc['voice_document_uuid'] ?? '')."'></td>\n";
		echo "\t<td>".$ui::h($doc['name'] ?? '')."</td>\n";
		echo "\t<td class='document-status'>".$ui::h($status);
		if (!empty($doc['error'])) {
			echo "<br /><span style='color: #c00;'>".$ui::h($doc['error'])."</span>";
		}
		echo "</td>\n";
		echo "\t<td>".$ui::h($doc['chunk_count'] ?? '')."</td>\n";
		echo "\t<td>".$ui::h(number_format((int) ($doc['size_bytes'] ?? 0) / 1024, 1))." KiB</td>\n";
		echo "\t<td>".$ui::h($ui::local_time($doc['update_date'] ?? null))."</td>\n";
		echo "</tr>\n";
		$x++;
	}
	echo "</table>\n</div>\n";
	echo $ui::token_fields($token);
	echo "</form>\n";

	if (permission_exists('voice_document_add')) {
		echo "<br />\n<form id='form_upload' method='post' enctype='multipart/form-data'>\n";
		echo "<input type='hidden' name='action' value='upload'>\n";
		echo $ui::action_bar($text['header-upload'], button::create(['type' => 'submit', 'label' => $text['button-upload'], 'icon' => 'upload', 'id' => 'btn_upload']), null, true);
		echo "<div class='card'>\n<table width='100%' border='0' cellpadding='0' cellspacing='0'>\n";
		echo $ui::row($text['label-file'], "<input class='formfld' type='file' name='document' id='document' accept='.pdf,.docx,.html,.htm,.md,.txt'>", $text['description-file'], true);
		echo $ui::row($text['label-language'], $ui::select('language', '', ['' => $text['option-auto'], 'pt-BR' => 'Português (Brasil)', 'en-US' => 'English (US)']), $text['description-document_language']);
		echo "</table>\n</div>\n";
		echo $ui::token_fields($token);
		echo "</form>\n";
	}
	require_once 'resources/footer.php';
