<?php
/**
 * Helpers for the page tests: a cookie-keeping HTTP client for the pages (served by php -S with the shim),
 * form parsing, and a client for the Voice AI Service API to check what the pages did.
 *
 * Environment (set by tests/test_fusionpbx_app.py): SHIM_URL, SERVICE_URL, DB_DSN, DOMAIN_A, DOMAIN_A_NAME,
 * SECRETARY_A, DOMAIN_B, DOMAIN_B_NAME, SECRETARY_B.
 */

function env_or_fail(string $name): string {
	$value = getenv($name);
	if ($value === false || $value === '') {
		fwrite(STDERR, "missing environment variable $name: run these tests through tests/test_fusionpbx_app.py\n");
		exit(2);
	}
	return $value;
}

final class Page {
	public $status;
	public $body;
	public $url;
	private $dom;

	public function __construct(int $status, string $body, string $url) {
		$this->status = $status;
		$this->body = $body;
		$this->url = $url;
	}

	public function dom(): DOMXPath {
		if ($this->dom === null) {
			$document = new DOMDocument();
			libxml_use_internal_errors(true);
			$document->loadHTML('<?xml encoding="utf-8"?>'.$this->body);
			libxml_clear_errors();
			$this->dom = new DOMXPath($document);
		}
		return $this->dom;
	}

	/** Texts of the flash messages shown on this page, by mood. */
	public function messages(string $mood = 'positive'): array {
		$texts = [];
		foreach ($this->dom()->query("//div[@id='messages']/div[@class='message-$mood']") as $node) {
			$texts[] = trim($node->textContent);
		}
		return $texts;
	}

	/** The fields a browser would submit from the form with this id (no buttons, unchecked boxes or files). */
	public function form(string $id): array {
		$form = $this->dom()->query("//form[@id='$id']")->item(0);
		if ($form === null) {
			throw new RuntimeException("no form #$id on ".$this->url);
		}
		$fields = [];
		foreach ($this->dom()->query('.//input|.//select|.//textarea', $form) as $node) {
			$name = $node->getAttribute('name');
			if ($name === '') {
				continue;
			}
			if ($node->nodeName === 'input') {
				$type = strtolower($node->getAttribute('type') ?: 'text');
				if (in_array($type, ['submit', 'button', 'file'], true) || (in_array($type, ['checkbox', 'radio'], true) && !$node->hasAttribute('checked'))) {
					continue;
				}
				$fields[$name] = $node->getAttribute('value');
			}
			elseif ($node->nodeName === 'textarea') {
				$fields[$name] = $node->textContent;
			}
			else {
				$selected = $this->dom()->query(".//option[@selected]", $node)->item(0) ?? $this->dom()->query('.//option', $node)->item(0);
				$fields[$name] = $selected !== null ? $selected->getAttribute('value') : '';
			}
		}
		return $fields;
	}

	public function text(string $xpath): string {
		$node = $this->dom()->query($xpath)->item(0);
		return $node === null ? '' : trim($node->textContent);
	}
}

final class Browser {
	private $base;
	private $cookies;

	public function __construct() {
		$this->base = rtrim(env_or_fail('SHIM_URL'), '/');
		$this->cookies = tempnam(sys_get_temp_dir(), 'cookies');
	}

	public function __destruct() {
		@unlink($this->cookies);
	}

	/** $extra: group (admin|superadmin), language (en-us|pt-br), paging (rows per page). */
	public function login(string $domain_uuid, string $domain_name, string $permissions = 'all', array $extra = []): self {
		$this->get('/shim_login.php?'.http_build_query(['domain_uuid' => $domain_uuid, 'domain_name' => $domain_name, 'permissions' => $permissions] + $extra));
		return $this;
	}

	public function get(string $path): Page {
		return $this->request($path, null);
	}

	/** POST fields (and files: name => [path, filename]) as multipart, following the redirect like a browser. */
	public function post(string $path, array $fields, array $files = []): Page {
		foreach ($files as $name => [$file, $filename]) {
			$fields[$name] = new CURLFile($file, 'application/octet-stream', $filename);
		}
		return $this->request($path, $fields);
	}

	private function request(string $path, ?array $fields): Page {
		$curl = curl_init($this->base.$path);
		curl_setopt_array($curl, [
			CURLOPT_RETURNTRANSFER => true,
			CURLOPT_FOLLOWLOCATION => true,
			CURLOPT_COOKIEJAR => $this->cookies,
			CURLOPT_COOKIEFILE => $this->cookies,
			CURLOPT_TIMEOUT => 120,
		]);
		if ($fields !== null) {
			curl_setopt($curl, CURLOPT_POST, true);
			curl_setopt($curl, CURLOPT_POSTFIELDS, $fields);
		}
		$body = (string) curl_exec($curl);
		$page = new Page((int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE), $body, (string) curl_getinfo($curl, CURLINFO_EFFECTIVE_URL));
		curl_close($curl);
		return $page;
	}
}

/** The Voice AI Service API, to check what the pages stored. */
final class Api {
	public static function call(string $method, string $path, ?array $json = null): array {
		$curl = curl_init(rtrim(env_or_fail('SERVICE_URL'), '/').$path);
		curl_setopt_array($curl, [CURLOPT_RETURNTRANSFER => true, CURLOPT_CUSTOMREQUEST => $method, CURLOPT_TIMEOUT => 60]);
		if ($json !== null) {
			curl_setopt($curl, CURLOPT_HTTPHEADER, ['Content-Type: application/json']);
			curl_setopt($curl, CURLOPT_POSTFIELDS, json_encode($json));
		}
		$body = (string) curl_exec($curl);
		$status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
		curl_close($curl);
		return [$status, json_decode($body, true)];
	}

	public static function domain(string $domain, string $path, string $method = 'GET', ?array $json = null): array {
		return self::call($method, '/api/v1/domains/'.$domain.$path, $json);
	}
}

function database(): PDO {
	return new PDO(env_or_fail('DB_DSN'), null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
}

/** The dialplan details of an entry: [tag, type, data, inline, group, order, enabled], in order. */
function dialplan_details(string $dialplan_uuid): array {
	$sql = "select dialplan_detail_tag, dialplan_detail_type, dialplan_detail_data, dialplan_detail_inline, dialplan_detail_group::int::text,";
	$sql .= " dialplan_detail_order::int::text, dialplan_detail_enabled::text from v_dialplan_details where dialplan_uuid = :uuid order by dialplan_detail_group, dialplan_detail_order";
	$statement = database()->prepare($sql);
	$statement->execute([':uuid' => $dialplan_uuid]);
	return $statement->fetchAll(PDO::FETCH_NUM);
}

/** The uuids of an entry's details, in their order. */
function detail_uuids(string $dialplan_uuid): array {
	$statement = database()->prepare("select dialplan_detail_uuid::text from v_dialplan_details where dialplan_uuid = :uuid order by dialplan_detail_group, dialplan_detail_order");
	$statement->execute([':uuid' => $dialplan_uuid]);
	return $statement->fetchAll(PDO::FETCH_COLUMN);
}

/** The list form with the rows of these uuids checked and the action the delete modal sets. */
function check_rows(array $fields, array $ids, string $action = 'delete'): array {
	foreach ($fields as $name => $value) {
		if (in_array($value, $ids, true) && substr($name, -6) === '[uuid]') {
			$fields[substr($name, 0, -6).'[checked]'] = 'true';
		}
	}
	$fields['action'] = $action;
	return $fields;
}

/** Open a secretary's edit page and save it unchanged (writes its dialplan row). */
function save_secretary(Browser $browser, string $id): Page {
	$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id)->form('frm');
	$form['submit_action'] = 'save';
	return $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $form);
}
