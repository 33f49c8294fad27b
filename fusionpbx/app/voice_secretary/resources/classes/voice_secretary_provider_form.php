<?php
require_once __DIR__.'/voice_secretary_ui.php';

/**
 * A provider's settings form, built from the JSON schema the service publishes for each provider type
 * (GET /api/v1/provider-types). Secrets are write-only: the field is always empty, the stored value is only
 * hinted by its masked form, and an empty field keeps what is stored.
 */
class voice_secretary_provider_form {

	/** secret | boolean | integer | number | enum | string | json, and whether null is allowed. */
	public static function kind(string $name, array $property, array $secret_fields): array {
		$nullable = false;
		if (isset($property['anyOf']) && is_array($property['anyOf'])) {
			foreach ($property['anyOf'] as $option) {
				if (($option['type'] ?? null) === 'null') {
					$nullable = true;
				}
				elseif (!isset($property['type'])) {
					$property = array_merge($option, $property);
				}
			}
		}
		if (in_array($name, $secret_fields, true) || !empty($property['x-secret']) || !empty($property['writeOnly'])) {
			return ['secret', $nullable];
		}
		if (isset($property['enum']) && is_array($property['enum'])) {
			return ['enum', $nullable, $property['enum']];
		}
		$type = $property['type'] ?? 'string';
		if (in_array($type, ['boolean', 'integer', 'number', 'string'], true)) {
			return [$type, $nullable];
		}
		return ['json', $nullable];
	}

	/**
	 * The label and description of a setting in the page's language: the app's texts (label-config_<name>;
	 * description-config_<type>_<provider>_<name>, else description-config_<name> when the schema describes
	 * the field), falling back to the schema's own title and description for a setting the app does not know.
	 */
	public static function words(string $name, array $property, array $text, string $type, string $provider): array {
		$label = $text['label-config_'.$name] ?? (string) ($property['title'] ?? $name);
		$description = (string) ($property['description'] ?? '');
		$specific = 'description-config_'.$type.'_'.$provider.'_'.$name;
		if (isset($text[$specific])) {
			$description = $text[$specific];
		}
		elseif ($description !== '' && isset($text['description-config_'.$name])) {
			$description = $text['description-config_'.$name];
		}
		return [$label, $description];
	}

	public static function render(array $schema, array $secret_fields, array $config, array $errors, array $text, string $type = '', string $provider = ''): string {
		$ui = 'voice_secretary_ui';
		$required = (array) ($schema['required'] ?? []);
		$html = '';
		foreach ((array) ($schema['properties'] ?? []) as $name => $property) {
			$kind = self::kind($name, $property, $secret_fields);
			$field = 'config_'.$name;
			$stored = $config[$name] ?? null;
			if (is_array($stored) && $kind[0] !== 'json') {
				$stored = json_encode($stored);
			}
			$default = $property['default'] ?? null;
			$placeholder = $default === null ? '' : (is_scalar($default) ? (string) var_export($default, true) : json_encode($default));
			$placeholder = trim($placeholder, "'");
			switch ($kind[0]) {
				case 'secret':
					$hint = $stored !== null && $stored !== '' ? $text['label-secret_set'].' ('.$stored.')' : '';
					$input = $ui::input($field, '', 'password', ['autocomplete' => 'new-password', 'placeholder' => $hint]);
					break;
				case 'boolean':
					$options = ['' => $text['option-default'].($default === null ? '' : ' ('.($default ? $text['option-true'] : $text['option-false']).')'), 'true' => $text['option-true'], 'false' => $text['option-false']];
					$input = $ui::select($field, $stored === null ? '' : ($stored ? 'true' : 'false'), $options);
					break;
				case 'enum':
					$options = ['' => $text['option-default'].($default === null ? '' : ' ('.$default.')')];
					foreach ($kind[2] as $option) {
						$options[(string) $option] = (string) $option;
					}
					$input = $ui::select($field, $stored === null ? '' : (string) $stored, $options);
					break;
				case 'integer':
				case 'number':
					$input = $ui::input($field, $stored === null ? '' : (string) $stored, 'number', ['step' => $kind[0] === 'integer' ? '1' : 'any', 'placeholder' => $placeholder]);
					break;
				case 'json':
					$input = $ui::textarea($field, $stored === null ? '' : json_encode($stored, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), 2);
					break;
				default:
					$input = $ui::input($field, $stored === null ? '' : (string) $stored, 'text', ['placeholder' => $placeholder]);
			}
			[$label, $description] = self::words((string) $name, (array) $property, $text, $type, $provider);
			$html .= $ui::row($label, $input, $description, in_array($name, $required, true), $errors['config.'.$name] ?? '');
		}
		return $html;
	}

	/**
	 * The config to send from the posted form. Values are converted when they can be (numbers, booleans, JSON);
	 * anything else is sent as typed, so that the service — which knows each provider's rules — reports every
	 * error of the form at once. On update an empty field sends null (back to the default; a JSON merge patch
	 * removes the key) — except secrets, which are left out (kept).
	 */
	public static function parse(array $schema, array $secret_fields, array $post, bool $update): array {
		$config = [];
		foreach ((array) ($schema['properties'] ?? []) as $name => $property) {
			$kind = self::kind($name, $property, $secret_fields);
			$raw = $post['config_'.$name] ?? '';
			$raw = is_string($raw) ? trim($raw) : '';
			if ($raw === '') {
				if ($update && $kind[0] !== 'secret') {
					$config[$name] = null;
				}
				continue;
			}
			switch ($kind[0]) {
				case 'boolean':
					$config[$name] = $raw === 'true';
					break;
				case 'integer':
					$config[$name] = preg_match('/^-?\d+$/', $raw) ? (int) $raw : $raw;
					break;
				case 'number':
					$config[$name] = is_numeric($raw) ? (float) $raw : $raw;
					break;
				case 'json':
					$value = json_decode($raw, true);
					$config[$name] = ($value === null && strtolower($raw) !== 'null') ? $raw : $value;
					break;
				default:
					$config[$name] = $raw;
			}
		}
		return $config;
	}

}
