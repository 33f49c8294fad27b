<?php
require_once __DIR__.'/voice_secretary_response.php';

/**
 * The Voice AI Service admin API, for one tenant: every path is built under
 * /api/v1/domains/<the session's domain_uuid>/, so nothing a request carries can reach another tenant
 * (the service answers 404 for another tenant's object anyway). Object ids must be UUIDs and resource
 * names come from a fixed list; nothing from the request is put in a URL otherwise.
 */
class voice_secretary_client {

	const RESOURCES = ['secretaries', 'transfer-rules', 'documents', 'providers', 'conversations', 'schedules', 'time-conditions', 'caller-messages', 'tools'];

	private $base_url;
	private $token;
	private $domain_uuid;
	private $timeout;

	public function __construct(string $base_url, ?string $token, string $domain_uuid, int $timeout = 30) {
		if (!self::is_uuid($domain_uuid)) {
			throw new InvalidArgumentException('no domain in the session');
		}
		$this->base_url = rtrim($base_url, '/');
		$this->token = ($token !== null && $token !== '') ? $token : null;
		$this->domain_uuid = strtolower($domain_uuid);
		$this->timeout = max(1, $timeout);
	}

	/**
	 * The client for the logged-in user's domain. The service URL, API key and timeout are FusionPBX *default*
	 * settings (category voice_secretary) read from v_default_settings: never domain or user settings, which a
	 * tenant admin can write — they must not be able to send the installation's API key elsewhere.
	 */
	public static function from_session(): voice_secretary_client {
		return new voice_secretary_client(
			(string) self::setting('service_url', 'http://127.0.0.1:8100'),
			(string) self::setting('api_key', ''),
			(string) ($_SESSION['domain_uuid'] ?? ''),
			(int) self::setting('timeout', 30)
		);
	}

	/** An enabled default setting of category voice_secretary, or $default (one query per request). */
	public static function setting(string $name, $default) {
		static $values = null;
		if ($values === null) {
			global $database;
			if (!is_object($database)) {
				$database = method_exists('database', 'new') ? database::new() : new database;
			}
			$sql = "select default_setting_subcategory, default_setting_value from v_default_settings ";
			$sql .= "where default_setting_category = 'voice_secretary' and cast(default_setting_enabled as text) = 'true' ";
			$values = [];
			foreach ((array) $database->select($sql, null, 'all') as $row) {
				$values[(string) $row['default_setting_subcategory']] = $row['default_setting_value'];
			}
		}
		$value = $values[$name] ?? null;
		return ($value === null || $value === '') ? $default : $value;
	}

	public static function is_uuid($value): bool {
		return is_string($value) && preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i', $value) === 1;
	}

	public function domain_uuid(): string {
		return $this->domain_uuid;
	}

	private function resource_path(string $resource, ?string $id = null, string $suffix = ''): string {
		if (!in_array($resource, self::RESOURCES, true)) {
			throw new InvalidArgumentException('unknown resource '.$resource);
		}
		$path = '/api/v1/domains/'.$this->domain_uuid.'/'.$resource;
		if ($id !== null) {
			if (!self::is_uuid($id)) {
				throw new InvalidArgumentException('not a uuid');
			}
			$path .= '/'.strtolower($id);
		}
		return $path.$suffix;
	}

	public function list(string $resource, array $query = []): voice_secretary_response {
		return $this->request('GET', $this->resource_path($resource), null, $query);
	}

	/** Every item of a resource (follows pagination; at most $max). */
	public function all(string $resource, array $query = [], int $max = 1000): array {
		$items = [];
		$offset = 0;
		do {
			$page = $this->list($resource, array_merge($query, ['limit' => 200, 'offset' => $offset]));
			if (!$page->ok()) {
				return $items;
			}
			$batch = $page->items();
			$items = array_merge($items, $batch);
			$offset += count($batch);
		} while (count($batch) > 0 && $offset < (int) ($page->data['total'] ?? 0) && $offset < $max);
		return $items;
	}

	public function get(string $resource, string $id): voice_secretary_response {
		return $this->request('GET', $this->resource_path($resource, $id));
	}

	public function create(string $resource, array $data): voice_secretary_response {
		return $this->request('POST', $this->resource_path($resource), $data);
	}

	public function update(string $resource, string $id, array $data): voice_secretary_response {
		return $this->request('PATCH', $this->resource_path($resource, $id), $data);
	}

	public function delete(string $resource, string $id): voice_secretary_response {
		return $this->request('DELETE', $this->resource_path($resource, $id));
	}

	public function reindex_document(string $id): voice_secretary_response {
		return $this->request('POST', $this->resource_path('documents', $id, '/reindex'));
	}

	/** Upload a document file (indexed by the service in the background). */
	public function upload_document(string $file_path, string $filename, ?string $language): voice_secretary_response {
		$fields = ['file' => new CURLFile($file_path, 'application/octet-stream', $filename)];
		if ($language !== null && $language !== '') {
			$fields['language'] = $language;
		}
		return $this->request('POST', $this->resource_path('documents').'/upload', null, [], $fields);
	}

	/** A tiny real request with a configured provider: {ok, latency_ms, ...} or {ok: false, message}. */
	public function test_provider(string $id): voice_secretary_response {
		return $this->request('POST', $this->resource_path('providers', $id, '/test'));
	}

	/** One call of a tool with these arguments, as a call turn would: {ok, status, ms, error, content}. */
	public function test_tool(string $id, $arguments): voice_secretary_response {
		return $this->request('POST', $this->resource_path('tools', $id, '/test'), ['arguments' => $arguments]);
	}

	public function provider_types(): voice_secretary_response {
		return $this->request('GET', '/api/v1/provider-types');
	}

	/**
	 * A short-lived token that opens this secretary's browser console, and the path to send the browser to
	 * ({token, expires_at, console_path}). The browser gets that token only, never the API key.
	 */
	public function console_token(string $secretary_uuid): voice_secretary_response {
		return $this->request('POST', $this->resource_path('secretaries', $secretary_uuid, '/console-token'));
	}

	/**
	 * The service's base URL as the admin's browser reaches it (default setting console_url; service_url when
	 * unset), or null when neither is an http(s) URL.
	 */
	public static function console_base_url(): ?string {
		$url = (string) self::setting('console_url', self::setting('service_url', 'http://127.0.0.1:8100'));
		if (!preg_match('#^https?://[^\s/?\#]+(/[^\s?\#]*)?$#i', $url)) {
			return null;
		}
		return rtrim($url, '/');
	}

	/**
	 * The try-it box: a typed question to a secretary through the telephony API, as a call would. The
	 * conversation ($call_uuid) goes on across questions until end_try() and appears in the call log.
	 */
	public function try_question(string $secretary_uuid, string $call_uuid, string $text): voice_secretary_response {
		if (!self::is_uuid($secretary_uuid)) {
			throw new InvalidArgumentException('not a uuid');
		}
		$started = $this->request('POST', '/api/v1/calls', [
			'domain_uuid' => $this->domain_uuid,
			'secretary' => strtolower($secretary_uuid),
			'call_uuid' => $call_uuid,
			'caller_id_name' => 'FusionPBX',
			'caller_id_number' => 'try-it',
		]);
		if (!$started->ok()) {
			return $started;
		}
		return $this->request('POST', '/api/v1/calls/'.rawurlencode($call_uuid).'/turns', null, [], [
			'domain_uuid' => $this->domain_uuid,
			'text' => $text,
		]);
	}

	/**
	 * End a try-it conversation with the outcome a call would have had: the secretary's own decision
	 * (transfer → transferred, hangup → resolved, as the call flow reports them), or — when the person left
	 * the box or pressed "New conversation" while it went on — the caller hanging up (hangup; abandoned before
	 * any question).
	 */
	public function end_try(string $call_uuid, string $outcome): voice_secretary_response {
		return $this->request('POST', '/api/v1/calls/'.rawurlencode($call_uuid).'/end', [
			'domain_uuid' => $this->domain_uuid,
			'outcome' => $outcome,
		]);
	}

	/** The outcome a call ends with after the secretary answered with this action (null: it goes on). */
	public static function outcome_of(string $action): ?string {
		$outcomes = ['transfer' => 'transferred', 'hangup' => 'resolved'];
		return $outcomes[$action] ?? null;
	}

	private function request(string $method, string $path, ?array $json = null, array $query = [], ?array $form = null): voice_secretary_response {
		$url = $this->base_url.$path;
		if (count($query) > 0) {
			$url .= '?'.http_build_query($query);
		}
		$headers = ['Accept: application/json'];
		if ($this->token !== null) {
			$headers[] = 'Authorization: Bearer '.$this->token;
		}
		$curl = curl_init($url);
		curl_setopt_array($curl, [
			CURLOPT_CUSTOMREQUEST => $method,
			CURLOPT_RETURNTRANSFER => true,
			CURLOPT_CONNECTTIMEOUT => min(5, $this->timeout),
			CURLOPT_TIMEOUT => $this->timeout,
			CURLOPT_FOLLOWLOCATION => false,
			CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
		]);
		if ($json !== null) {
			$headers[] = 'Content-Type: application/json';
			curl_setopt($curl, CURLOPT_POSTFIELDS, json_encode($json, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES));
		}
		elseif ($form !== null) {
			curl_setopt($curl, CURLOPT_POSTFIELDS, $form); // multipart/form-data
		}
		curl_setopt($curl, CURLOPT_HTTPHEADER, $headers);
		$body = curl_exec($curl);
		$status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
		$error = curl_error($curl);
		curl_close($curl);
		if ($body === false || $status === 0) {
			return new voice_secretary_response(0, null, 'The Voice AI Service is not reachable ('.$error.'). Check that it is running and the voice_secretary service_url default setting.');
		}
		$data = json_decode((string) $body, true);
		if ($status === 401 || $status === 403) {
			return new voice_secretary_response($status, $data, 'The Voice AI Service refused the request (HTTP '.$status.'): check the voice_secretary api_key default setting.');
		}
		if ($status >= 500) {
			return new voice_secretary_response($status, $data, 'The Voice AI Service failed (HTTP '.$status.'); see its log.');
		}
		return new voice_secretary_response($status, $data);
	}

}
