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

	//the status of each document, for the list to refresh itself while documents are being indexed
	$status_of = function (array $doc) use ($text): array {
		$doc_status = (string) ($doc['status'] ?? '');
		$label = $text['option-status_'.$doc_status] ?? $doc_status;
		$indexing = $doc_status === 'processing' || $doc_status === 'queued';
		if ($indexing) {
			$label .= ' ('.(int) ($doc['progress'] ?? 0).'%)';
		}
		return ['status' => $label, 'indexing' => $indexing, 'error' => (string) ($doc['error'] ?? ''), 'chunks' => (string) ($doc['chunk_count'] ?? '')];
	};
	if ($ui::param($_GET, 'format') === 'json') {
		$rows = [];
		foreach ($response->items() as $doc) {
			$rows[(string) ($doc['voice_document_uuid'] ?? '')] = $status_of($doc);
		}
		header('Content-Type: application/json');
		echo json_encode(['ok' => $response->ok(), 'documents' => $rows], JSON_UNESCAPED_UNICODE);
		exit;
	}

	$search = mb_substr(trim($ui::param($_GET, 'search')), 0, 100);
	$documents = [];
	foreach ($response->items() as $doc) {
		if ($ui::matches($search, [$doc['name'] ?? '', $doc['status'] ?? '', $doc['error'] ?? ''])) {
			$documents[] = $doc;
		}
	}
	$can_delete = permission_exists('voice_document_delete');
	$can_edit = permission_exists('voice_document_edit');

	$object = new token;
	$token = $object->create($_SERVER['PHP_SELF']);
	$document['title'] = $text['title-voice_documents'];
	require_once 'resources/header.php';

	if (!$response->ok()) {
		echo "<div class='voice-secretary-error' style='color: #c00;'>".$ui::h($response->message())."</div>\n";
	}
	$buttons = $ui::nav($text, 'voice_documents.php');
	if (permission_exists('voice_document_add')) {
		//upload, the way FusionPBX's Recordings page does it: a button that opens the file chooser
		$buttons .= "<form id='form_upload' class='inline' method='post' enctype='multipart/form-data'>\n";
		$buttons .= "<input type='hidden' name='action' value='upload'>\n".$ui::token_fields($token);
		$buttons .= button::create(['type' => 'button', 'label' => $text['button-upload'], 'icon' => 'upload', 'id' => 'btn_upload', 'onclick' => "this.style.display = 'none'; document.getElementById('upload_controls').style.display = 'inline'; document.getElementById('document').click();"]);
		$buttons .= "<span id='upload_controls' style='display: none;'>";
		$buttons .= button::create(['type' => 'button', 'label' => $text['button-cancel'], 'icon' => 'times', 'id' => 'btn_upload_cancel', 'onclick' => "document.getElementById('form_upload').reset(); document.getElementById('upload_controls').style.display = 'none'; document.getElementById('btn_upload').style.display = '';"]);
		$buttons .= "<input type='text' class='txt' style='width: 140px; cursor: pointer;' id='document_name' placeholder='".$ui::h($text['label-file'])."' onclick=\"document.getElementById('document').click(); this.blur();\" readonly>";
		$buttons .= "<input type='file' name='document' id='document' style='display: none;' accept='.pdf,.docx,.html,.htm,.md,.txt' onchange=\"document.getElementById('document_name').value = this.files.length ? this.files.item(0).name : '';\">";
		$buttons .= "<select class='formfld' name='language' id='language' title='".$ui::h($text['description-document_language'])."' style='width: auto;'>";
		foreach (['' => $text['option-auto'], 'pt-BR' => 'Português (Brasil)', 'en-US' => 'English (US)'] as $value => $label) {
			$buttons .= "<option value='".$ui::h($value)."'>".$ui::h($label)."</option>";
		}
		$buttons .= "</select>";
		$buttons .= button::create(['type' => 'submit', 'label' => $text['button-upload'], 'icon' => 'check', 'id' => 'btn_upload_submit']);
		$buttons .= "</span>\n</form>\n";
	}
	if ($can_edit && count($documents) > 0) {
		$buttons .= button::create(['type' => 'button', 'label' => $text['button-reindex'], 'icon' => 'rotate', 'id' => 'btn_reindex', 'class' => '+revealed', 'style' => 'display: none;', 'onclick' => "list_action_set('reindex'); list_form_submit('form_list');"]);
	}
	if ($can_delete && count($documents) > 0) {
		$buttons .= $ui::delete_button($text);
	}
	$buttons .= $ui::search_form($text, $search);
	echo $ui::action_bar($text['title-voice_documents'], $buttons, count($documents));
	if ($can_delete && count($documents) > 0) {
		echo $ui::delete_modal($text);
	}
	echo $ui::h($text['description-voice_documents'])."\n<br /><br />\n";
	echo "<form id='form_list' method='post'>\n";
	echo "<input type='hidden' id='action' name='action' value=''>\n";
	echo "<div class='card'>\n<table class='list' id='documents_list'>\n<tr class='list-header'>\n";
	if ($can_delete || $can_edit) {
		echo $ui::checkbox_all(count($documents) > 0);
	}
	foreach (['label-name', 'label-status', 'label-chunks', 'label-size', 'label-updated'] as $label) {
		echo "\t<th>".$ui::h($text[$label])."</th>\n";
	}
	echo "</tr>\n";
	$x = 0;
	$indexing = false;
	foreach ($documents as $doc) {
		$id = (string) ($doc['voice_document_uuid'] ?? '');
		$state = $status_of($doc);
		$indexing = $indexing || $state['indexing'];
		echo "<tr class='list-row' data-document='".$ui::h($id)."'>\n";
		if ($can_delete || $can_edit) {
			echo $ui::checkbox_row('voice_documents', $x, $id);
		}
		echo "\t<td>".$ui::h($doc['name'] ?? '')."</td>\n";
		echo "\t<td class='document-status'>".$ui::h($state['status']);
		echo "<span class='document-error' style='color: #c00;'>".($state['error'] !== '' ? '<br />'.$ui::h($state['error']) : '')."</span>";
		echo "</td>\n";
		echo "\t<td class='document-chunks'>".$ui::h($state['chunks'])."</td>\n";
		echo "\t<td>".$ui::h(number_format((int) ($doc['size_bytes'] ?? 0) / 1024, 1))." KiB</td>\n";
		echo "\t<td>".$ui::h($ui::local_time($doc['update_date'] ?? null))."</td>\n";
		echo "</tr>\n";
		$x++;
	}
	echo "</table>\n</div>\n";
	echo $ui::token_fields($token);
	echo "</form>\n";
	if ($indexing) {
		//while documents are being indexed, their status refreshes in place (no reload: checked boxes stay)
		echo "<script>\n(function () {\n";
		echo "\tvar refresh = function () {\n";
		echo "\t\tfetch('voice_documents.php?format=json', {credentials: 'same-origin'}).then(function (r) { return r.json(); }).then(function (data) {\n";
		echo "\t\t\tvar busy = false;\n";
		echo "\t\t\tObject.keys(data.documents || {}).forEach(function (id) {\n";
		echo "\t\t\t\tvar row = document.querySelector(\"tr[data-document='\" + id + \"']\"), doc = data.documents[id];\n";
		echo "\t\t\t\tif (!row) { return; }\n";
		echo "\t\t\t\tbusy = busy || doc.indexing;\n";
		echo "\t\t\t\tvar status = row.querySelector('.document-status'), error = row.querySelector('.document-error');\n";
		echo "\t\t\t\tstatus.firstChild.nodeValue = doc.status;\n";
		echo "\t\t\t\terror.textContent = doc.error; if (doc.error) { error.insertBefore(document.createElement('br'), error.firstChild); }\n";
		echo "\t\t\t\trow.querySelector('.document-chunks').textContent = doc.chunks;\n";
		echo "\t\t\t});\n";
		echo "\t\t\tif (busy) { setTimeout(refresh, 2000); }\n";
		echo "\t\t}).catch(function () { setTimeout(refresh, 10000); });\n";
		echo "\t};\n\tsetTimeout(refresh, 2000);\n})();\n</script>\n";
	}
	require_once 'resources/footer.php';
