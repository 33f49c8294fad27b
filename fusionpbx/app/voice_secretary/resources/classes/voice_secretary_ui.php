<?php
/**
 * Small rendering helpers shared by the pages, in FusionPBX's markup (action_bar, card, list table,
 * vncell/vtable form rows). Every value is escaped here; pages pass raw values.
 */
require_once __DIR__.'/voice_secretary_client.php';

class voice_secretary_ui {

	/** Stop with FusionPBX's usual answer unless the user has one of the permissions. */
	public static function require_permission(string ...$names): void {
		foreach ($names as $name) {
			if (permission_exists($name)) {
				return;
			}
		}
		echo 'access denied';
		exit;
	}

	public static function h($value): string {
		return htmlspecialchars((string) $value, ENT_QUOTES | ENT_HTML5, 'UTF-8');
	}

	/** The app's sections, for the action bars. */
	public static function nav(array $text, string $current): string {
		$pages = [
			'voice_secretaries.php' => ['voice_secretary_view', 'title-voice_secretaries'],
			'voice_transfer_rules.php' => ['voice_transfer_rule_view', 'title-voice_transfer_rules'],
			'voice_schedules.php' => ['voice_schedule_view', 'title-voice_schedules'],
			'voice_documents.php' => ['voice_document_view', 'title-voice_documents'],
			'voice_conversations.php' => ['voice_conversation_view', 'title-voice_conversations'],
			'voice_providers.php' => ['voice_provider_view', 'title-voice_providers'],
			'voice_tools.php' => ['voice_tool_view', 'title-voice_tools'],
		];
		$html = '';
		foreach ($pages as $page => [$permission, $label]) {
			if ($page !== $current && permission_exists($permission)) {
				$html .= button::create(['type' => 'button', 'label' => $text[$label], 'icon' => 'list', 'link' => $page]);
			}
		}
		return $html;
	}

	/** FusionPBX's action bar; the page's first one carries id='action_bar', later ones are class 'sub'. */
	public static function action_bar(string $title, string $buttons, ?int $count = null, bool $sub = false): string {
		$html = $sub ? "<div class='action_bar sub'>\n" : "<div class='action_bar' id='action_bar'>\n";
		$html .= "\t<div class='heading'><b>".self::h($title)."</b>";
		if ($count !== null) {
			$html .= "<div class='count'>".self::h($count)."</div>";
		}
		$html .= "</div>\n\t<div class='actions'>\n".$buttons."\t</div>\n\t<div style='clear: both;'></div>\n</div>\n";
		return $html;
	}

	public static function token_fields(array $token): string {
		return "<input type='hidden' name='".self::h($token['name'])."' value='".self::h($token['hash'])."'>\n";
	}

	/** A form row: label cell and a value cell holding $input and a description. */
	public static function row(string $label, string $input, string $description = '', bool $required = false, string $error = ''): string {
		$html = "<tr>\n\t<td class='".($required ? 'vncellreq' : 'vncell')."' valign='top' align='left' nowrap='nowrap'>".self::h($label)."</td>\n";
		$html .= "\t<td class='vtable' align='left'>\n\t\t".$input."\n";
		if ($error !== '') {
			$html .= "\t\t<br /><span class='voice-secretary-error' style='color: #c00;'>".self::h($error)."</span>\n";
		}
		if ($description !== '') {
			$html .= "\t\t<br />".self::h($description)."\n";
		}
		return $html."\t</td>\n</tr>\n";
	}

	public static function input(string $name, $value, string $type = 'text', array $attributes = []): string {
		$html = "<input class='formfld' type='".self::h($type)."' name='".self::h($name)."' id='".self::h($name)."' value='".self::h($value)."'";
		foreach ($attributes as $key => $attribute) {
			$html .= ' '.self::h($key)."='".self::h($attribute)."'";
		}
		return $html.'>';
	}

	public static function textarea(string $name, $value, int $rows = 4): string {
		return "<textarea class='formfld' style='width: 100%; max-width: 600px;' rows='".$rows."' name='".self::h($name)."' id='".self::h($name)."'>".self::h($value)."</textarea>";
	}

	/** @param array $options value => label */
	public static function select(string $name, $value, array $options): string {
		$html = "<select class='formfld' name='".self::h($name)."' id='".self::h($name)."'>\n";
		foreach ($options as $option => $label) {
			$selected = ((string) $option === (string) $value) ? " selected='selected'" : '';
			$html .= "\t<option value='".self::h($option)."'".$selected.'>'.self::h($label)."</option>\n";
		}
		return $html.'</select>';
	}

	public static function boolean(string $name, $value, array $text): string {
		return self::select($name, $value ? 'true' : 'false', ['true' => $text['option-true'] ?? 'True', 'false' => $text['option-false'] ?? 'False']);
	}

	/** A POST value as a trimmed string, or null when absent or empty. */
	public static function post(string $name): ?string {
		if (!isset($_POST[$name]) || !is_string($_POST[$name])) {
			return null;
		}
		$value = trim($_POST[$name]);
		return $value === '' ? null : $value;
	}

	/** Show the service's failure to the user. FusionPBX renders messages as HTML: text from outside is escaped. */
	public static function fail(voice_secretary_response $response): void {
		self::message($response->message(), 'negative');
	}

	/**
	 * A refused save says so where FusionPBX's own forms do (a negative message at the top, which stays until
	 * closed), besides each reason next to its field: a reason next to a field far down a long form is easily
	 * missed, and the page must never look as if nothing happened.
	 */
	public static function not_saved(array $errors, array $text): void {
		if (count($errors) > 0) {
			message::add($text['message-not_saved'], 'negative');
		}
	}

	/** message::add() for text that is not one of our fixed strings (escaped). */
	public static function message(string $text, string $mood = 'positive'): void {
		message::add(self::h($text), $mood);
	}

	/**
	 * A list page's Delete: FusionPBX's hidden-until-checked button in the action bar, which opens FusionPBX's
	 * confirmation modal (modal::create); its Continue sets the list form's action and submits it.
	 */
	public static function delete_button(array $text): string {
		return button::create(['type' => 'button', 'label' => $text['button-delete'], 'icon' => 'trash', 'id' => 'btn_delete', 'name' => 'btn_delete', 'style' => 'display: none;', 'onclick' => "modal_open('modal-delete','btn_delete');"]);
	}

	public static function delete_modal(array $text, string $form = 'form_list'): string {
		$continue = button::create(['type' => 'button', 'label' => $text['button-continue'], 'icon' => 'check', 'id' => 'btn_delete', 'style' => 'float: right; margin-left: 15px;', 'collapse' => 'never', 'onclick' => "modal_close(); list_action_set('delete'); list_form_submit('".$form."');"]);
		return modal::create(['id' => 'modal-delete', 'type' => 'delete', 'actions' => $continue])."\n";
	}

	/** FusionPBX's list search box (a GET form inside the action bar's actions). */
	public static function search_form(array $text, string $search, string $extra = ''): string {
		$html = "<form id='form_search' class='inline' method='get'>\n".$extra;
		$html .= "<input type='text' class='txt list-search' name='search' id='search' value='".self::h($search)."' placeholder='".self::h($text['label-search'])."'>";
		$html .= button::create(['label' => $text['button-search'], 'icon' => 'search', 'type' => 'submit', 'id' => 'btn_search']);
		return $html."</form>\n";
	}

	/** Whether any of the row's values contains the search term (case-insensitive); '' matches everything. */
	public static function matches(string $search, array $values): bool {
		if ($search === '') {
			return true;
		}
		foreach ($values as $value) {
			if (is_scalar($value) && mb_stripos((string) $value, $search) !== false) {
				return true;
			}
		}
		return false;
	}

	/** The list header's select-all checkbox, as FusionPBX's lists have it. */
	public static function checkbox_all(bool $has_rows): string {
		return "\t<th class='checkbox'><input type='checkbox' id='checkbox_all' name='checkbox_all' onclick='list_all_toggle(); checkbox_on_change(this);'".($has_rows ? '' : " style='visibility: hidden;'")."></th>\n";
	}

	/** A row's checkbox and uuid ($_POST[$list][n][checked|uuid]). */
	public static function checkbox_row(string $list, int $x, string $uuid): string {
		$html = "\t<td class='checkbox'><input type='checkbox' name='".self::h($list)."[".$x."][checked]' id='checkbox_".$x."' value='true' onclick=\"checkbox_on_change(this); if (!this.checked) { document.getElementById('checkbox_all').checked = false; }\">";
		return $html."<input type='hidden' name='".self::h($list)."[".$x."][uuid]' value='".self::h($uuid)."'></td>\n";
	}

	/**
	 * Field errors of a form: each next to its field (row()), and the ones no field of the page shows (or a
	 * message without fields) in a box at the top, so that every error of one save appears at once.
	 */
	public static function errors_box(array $errors, array $shown): string {
		$lines = [];
		foreach ($errors as $field => $message) {
			if (!in_array((string) $field, $shown, true)) {
				$lines[] = ($field !== '' ? $field.': ' : '').$message;
			}
		}
		if (count($lines) === 0) {
			return '';
		}
		return "<div class='voice-secretary-error' id='voice_secretary_errors' style='color: #c00; margin-bottom: 10px;'>".implode('<br />', array_map([self::class, 'h'], $lines))."</div>\n";
	}

	/** A time from the service (UTC, ISO 8601) in the domain's time zone. */
	public static function local_time(?string $iso): string {
		global $settings;
		if ($iso === null || $iso === '') {
			return '';
		}
		try {
			$zone = is_object($settings) && method_exists($settings, 'get') ? (string) $settings->get('domain', 'time_zone', '') : '';
			$time = new DateTime($iso);
			$time->setTimezone(new DateTimeZone($zone !== '' ? $zone : date_default_timezone_get()));
			return $time->format('Y-m-d H:i:s');
		}
		catch (Exception $e) {
			return $iso;
		}
	}

	/** Stop unless the POST carries this page's CSRF token (FusionPBX's token class); back to $back if not. */
	public static function require_token(array $text, string $back): void {
		$token = new token;
		if (!$token->validate($_SERVER['PHP_SELF'])) {
			message::add($text['message-invalid_token'], 'negative');
			header('Location: '.$back);
			exit;
		}
	}

	/** The uuids of the rows checked in a list form ($_POST[$list][n][checked|uuid]). */
	public static function checked(string $list): array {
		$ids = [];
		foreach ((array) ($_POST[$list] ?? []) as $row) {
			$id = is_array($row) ? self::param($row, 'uuid') : '';
			if (is_array($row) && self::param($row, 'checked') === 'true' && voice_secretary_client::is_uuid($id)) {
				$ids[] = strtolower($id);
			}
		}
		return $ids;
	}

	/**
	 * A list page's bulk delete: token, permission, one API call per checked row, a message, back to the list.
	 * $after runs for each deleted id (and for ids the service no longer has).
	 */
	public static function bulk_delete(voice_secretary_client $client, string $resource, string $list, string $permission, array $text, string $back, ?callable $after = null): void {
		self::require_token($text, $back);
		self::require_permission($permission);
		$deleted = 0;
		foreach (self::checked($list) as $id) {
			$response = $client->delete($resource, $id);
			if ($response->ok()) {
				$deleted++;
			}
			elseif ($response->status !== 404) {
				self::fail($response);
				continue;
			}
			if ($after !== null) {
				$after($id);
			}
		}
		if ($deleted > 0) {
			message::add($text['message-delete']);
		}
		header('Location: '.$back);
		exit;
	}

	/** The object the page edits, or back to $back with "Not found." (another tenant's id is a 404 too). */
	public static function load(voice_secretary_client $client, string $resource, string $id, array $text, string $back): array {
		$found = $client->get($resource, $id);
		if (!$found->ok()) {
			$found->status === 404 ? message::add($text['message-not_found'], 'negative') : self::fail($found);
			header('Location: '.$back);
			exit;
		}
		return $found->data;
	}

	/** A scalar request value as a string ('' for arrays and absent values). */
	public static function param(array $source, string $name): string {
		return isset($source[$name]) && is_scalar($source[$name]) ? (string) $source[$name] : '';
	}

}
