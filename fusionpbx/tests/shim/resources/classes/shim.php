<?php
// Shims of FusionPBX classes: text, token, button, message, modal, permissions, settings, cache, database, dialplan.

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

/** FusionPBX's confirmation modal: a hidden window the page's buttons open with modal_open(). */
class modal {
	public static function create(array $array) {
		$titles = ['delete' => 'Confirmation'];
		$messages = ['delete' => 'Do you really want to delete this?'];
		$type = $array['type'] ?? '';
		$title = $array['title'] ?? ($titles[$type] ?? 'Confirmation');
		$message = $array['message'] ?? ($messages[$type] ?? '');
		$html = "<div id='".htmlspecialchars($array['id'] ?? 'modal', ENT_QUOTES)."' class='modal-window' style='display: none;'><div>";
		$html .= "<span class='modal-title'>".$title."</span><span class='modal-message'>".$message."</span>";
		$cancel = $type !== '' ? button::create(['type' => 'button', 'label' => 'Cancel', 'onclick' => 'modal_close();']) : '';
		return $html."<span class='modal-actions'>".$cancel.($array['actions'] ?? '')."</span></div></div>";
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
		return $_SESSION['shim_settings'][$category][$subcategory] ?? $this->values[$category][$subcategory] ?? $default;
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

	/** Rows of plural-keyed tables; a row's array-valued field is a child table whose rows get the parent's key. */
	public function save(array $array) {
		foreach ($array as $table => $rows) {
			$singular = self::singular($table);
			$key = $singular.'_uuid';
			foreach ($rows as $row) {
				$children = [];
				foreach ($row as $column => $value) {
					if (is_array($value)) {
						foreach ($value as $child) {
							$children[$column][] = array_merge($child, [$key => $row[$key]]);
						}
						unset($row[$column]);
					}
				}
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
				if (count($children) > 0 && $this->save($children) === false) {
					return false;
				}
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

	/** Delete the rows matching every field given (as FusionPBX's delete does for rows not marked "checked"). */
	public function delete(array $array) {
		foreach ($array as $table => $rows) {
			$singular = self::singular($table);
			if (!permission_exists($singular.'_delete')) {
				$this->message = ['code' => '403', 'message' => 'permission denied: '.$singular.'_delete'];
				return false;
			}
			foreach ($rows as $row) {
				$where = [];
				foreach (array_keys($row) as $column) {
					if (!preg_match('/^[a-z_]+$/', $column)) {
						return false;
					}
					$where[] = "$column = :$column";
				}
				$statement = $this->pdo->prepare("delete from v_$table where ".implode(' and ', $where));
				foreach ($row as $column => $value) {
					$statement->bindValue(':'.$column, $value);
				}
				$statement->execute();
			}
		}
		$this->message = ['code' => '200', 'message' => 'OK'];
		return true;
	}
}

/**
 * Shim of FusionPBX's dialplan class, only what the app calls: prepare_details() then xml() with source
 * "details" and destination "array" → [dialplan_uuid => the <extension> XML]. The real class is the judge
 * (tests/test_real_fusionpbx.py); this one writes the same shape: conditions per group, their actions.
 */
class dialplan {
	public $source;
	public $destination;
	public $uuid;
	private $rows = [];

	public function prepare_details($array) {
		$this->rows = [];
		foreach ($array['dialplans'] as $dialplan) {
			foreach ($dialplan['dialplan_details'] ?? [] as $detail) {
				if ($detail['dialplan_detail_enabled'] == 'true') {
					//FusionPBX's prepare_details() reads these columns unconditionally: a missing one is a PHP warning
					$row = ['dialplan' => $dialplan];
					foreach (['uuid', 'tag', 'type', 'data', 'break', 'inline', 'group', 'order', 'enabled'] as $column) {
						$row['dialplan_detail_'.$column] = $detail['dialplan_detail_'.$column];
					}
					$this->rows[] = $row;
				}
			}
		}
		usort($this->rows, function ($a, $b) {
			return [(int) $a['dialplan_detail_group'], (int) $a['dialplan_detail_order']] <=> [(int) $b['dialplan_detail_group'], (int) $b['dialplan_detail_order']];
		});
	}

	public function xml() {
		$xml = [];
		$groups = [];
		foreach ($this->rows as $row) {
			$groups[$row['dialplan']['dialplan_uuid']][(int) $row['dialplan_detail_group']][] = $row;
		}
		foreach ($groups as $uuid => $by_group) {
			$first = reset($by_group)[0]['dialplan'];
			$text = "<extension name=\"".$first['dialplan_name']."\" continue=\"".$first['dialplan_continue']."\" uuid=\"".$uuid."\">\n";
			foreach ($by_group as $rows) {
				$actions = '';
				$condition = null;
				foreach ($rows as $row) {
					if ($row['dialplan_detail_tag'] === 'condition') {
						$condition = "\t<condition field=\"".$row['dialplan_detail_type']."\" expression=\"".$row['dialplan_detail_data']."\">\n";
					}
					elseif (in_array($row['dialplan_detail_tag'], ['action', 'anti-action'], true)) {
						$inline = !empty($row['dialplan_detail_inline']) ? " inline=\"".$row['dialplan_detail_inline']."\"" : '';
						$actions .= "\t\t<".$row['dialplan_detail_tag']." application=\"".$row['dialplan_detail_type']."\" data=\"".$row['dialplan_detail_data']."\"".$inline."/>\n";
					}
				}
				$text .= ($condition ?? "\t<condition>\n").$actions."\t</condition>\n";
			}
			$xml[$uuid] = $text."</extension>\n";
		}
		return $xml;
	}
}
