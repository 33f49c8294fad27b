<?php
// Shims of FusionPBX classes: text, token, button, message, permissions, settings, cache, database.

class text {
	public function get($language = null, $app_path = null) {
		$language = $language ?? ($_SESSION['domain']['language']['code'] ?? 'en-us');
		$text = [];
		$file = dirname($_SERVER['SCRIPT_FILENAME']).'/app_languages.php';
		if ($app_path !== null) {
			$file = PROJECT_ROOT.'/'.$app_path.'/app_languages.php';
		}
		include $file;
		$flat = [];
		foreach ($text as $key => $values) {
			$flat[$key] = ($values[$language] ?? '') !== '' ? $values[$language] : ($values['en-us'] ?? '');
		}
		return $flat;
	}
}

class token {
	public function create($key) {
		$name = bin2hex(random_bytes(16));
		$hash = bin2hex(random_bytes(32));
		$_SESSION['tokens'][$key][$name] = $hash;
		return ['name' => $name, 'hash' => $hash, 'validated' => false];
	}
	public function validate($key) {
		foreach ($_SESSION['tokens'][$key] ?? [] as $name => $hash) {
			if (isset($_REQUEST[$name]) && is_string($_REQUEST[$name]) && hash_equals($hash, $_REQUEST[$name])) {
				return true;
			}
		}
		return false;
	}
}

class button {
	public static function create(array $array) {
		$e = function ($value) {
			return htmlspecialchars((string) $value, ENT_QUOTES | ENT_HTML5, 'UTF-8');
		};
		$html = "<button type='".$e($array['type'] ?? 'button')."'";
		foreach (['id', 'name', 'value', 'onclick', 'title', 'style'] as $attribute) {
			if (isset($array[$attribute])) {
				$html .= ' '.$attribute."='".$e($array[$attribute])."'";
			}
		}
		$html .= '>'.$e($array['label'] ?? '').'</button>';
		if (isset($array['link'])) {
			$html = "<a href='".$e($array['link'])."'>".$html.'</a>';
		}
		return $html."\n";
	}
}

class message {
	public static function add($message, $mood = 'positive', $delay = null) {
		$_SESSION['messages'][$mood][] = $message;
	}
}

class permissions {
	public static function new() {
		return new permissions;
	}
	public function add($name, $type) {
		$_SESSION['permissions'][$name] = true;
		$_SESSION['shim_temp_permissions'][$name] = true;
	}
	public function delete($name, $type) {
		if (!empty($_SESSION['shim_temp_permissions'][$name])) {
			unset($_SESSION['permissions'][$name], $_SESSION['shim_temp_permissions'][$name]);
		}
	}
}

/**
 * The session's settings (defaults merged with domain and user settings, as FusionPBX's). The harness puts
 * a *user* override of voice_secretary/service_url here that points nowhere: the app must read its service
 * settings from the default settings only.
 */
class settings {
	private $values;
	public function __construct(array $values = []) {
		$this->values = $values;
	}
	public function get($category, $subcategory, $default = null) {
		return $this->values[$category][$subcategory] ?? $default;
	}
}

class cache {
	public function delete($key) {
		$_SESSION['shim_cache_cleared'][] = $key;
	}
}

/** FusionPBX's database class, reduced to save/delete of plural-keyed arrays, with its permission check. */
class database {
	public $app_name;
	public $app_uuid;
	public $message;
	private $pdo;

	public function __construct(array $config) {
		if (!empty($config['dsn'])) {
			$this->pdo = new PDO($config['dsn'], $config['user'] ?? null, $config['password'] ?? null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
		}
	}

	private static function singular($name) {
		return substr($name, -1) === 's' ? substr($name, 0, -1) : $name;
	}

	public function save(array $array) {
		foreach ($array as $table => $rows) {
			$singular = self::singular($table);
			$key = $singular.'_uuid';
			foreach ($rows as $row) {
				$exists = $this->pdo->prepare("select count(*) from v_$table where $key = :id");
				$exists->execute([':id' => $row[$key]]);
				$action = $exists->fetchColumn() > 0 ? 'edit' : 'add';
				if (!permission_exists($singular.'_'.$action)) {
					$this->message = ['code' => '403', 'message' => 'permission denied: '.$singular.'_'.$action];
					return false;
				}
				$columns = array_keys($row);
				foreach ($columns as $column) {
					if (!preg_match('/^[a-z_]+$/', $column)) {
						return false;
					}
				}
				$placeholders = array_map(function ($c) { return ':'.$c; }, $columns);
				$updates = array_map(function ($c) { return "$c = excluded.$c"; }, $columns);
				$sql = "insert into v_$table (".implode(', ', $columns).', insert_date) values ('.implode(', ', $placeholders).', now()) '
					."on conflict ($key) do update set ".implode(', ', $updates).', update_date = now()';
				$statement = $this->pdo->prepare($sql);
				foreach ($row as $column => $value) {
					$statement->bindValue(':'.$column, $value);
				}
				$statement->execute();
			}
		}
		$this->message = ['code' => '200', 'message' => 'OK'];
		return true;
	}

	public function select($sql, $parameters = [], $return_type = 'all') {
		$statement = $this->pdo->prepare($sql);
		$statement->execute($parameters ?? []);
		if ($return_type === 'column') {
			return $statement->fetchColumn();
		}
		if ($return_type === 'row') {
			return $statement->fetch(PDO::FETCH_ASSOC) ?: [];
		}
		return $statement->fetchAll(PDO::FETCH_ASSOC);
	}

	public function delete(array $array) {
		foreach ($array as $table => $rows) {
			$singular = self::singular($table);
			if (!permission_exists($singular.'_delete')) {
				$this->message = ['code' => '403', 'message' => 'permission denied: '.$singular.'_delete'];
				return false;
			}
			foreach ($rows as $row) {
				$statement = $this->pdo->prepare("delete from v_$table where {$singular}_uuid = :id and domain_uuid = :domain");
				$statement->execute([':id' => $row[$singular.'_uuid'], ':domain' => $row['domain_uuid']]);
			}
		}
		return true;
	}
}
