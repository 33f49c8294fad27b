<?php
/**
 * The FusionPBX dialplan entry of a secretary: extension → `lua secretary_ai.lua <secretary uuid>` in the
 * tenant's context, with the variables the call flow needs (see docs/freeswitch.md).
 *
 * It is written the way FusionPBX's own apps write theirs (time conditions, Dialplan Manager): a v_dialplans
 * row owned by this app (app_uuid; dialplan_uuid = the secretary's uuid) with its v_dialplan_details, and
 * dialplan_xml generated from those details by FusionPBX's own `dialplan` class — so Dialplan Manager shows
 * the entry as conditions and actions, and its Save rebuilds the very same XML. The name is stored the way
 * Dialplan Manager stores names (no spaces or slashes) so that its Save does not rename the entry either.
 * Everything goes through FusionPBX's `database` class (no SQL writes here); it is also what makes
 * secretaries selectable as destinations.
 */
require_once __DIR__.'/voice_secretary_client.php';

class voice_secretary_dialplan {

	const APP_UUID = '545f45a5-0c17-4257-9d1d-275fc5f5aaf9';
	const ORDER = '200';

	/** Whether the secretary has an entry at all: an extension, and enabled (otherwise its entry is removed). */
	public static function wanted(array $secretary): bool {
		return (string) ($secretary['extension'] ?? '') !== '' && !empty($secretary['enabled']);
	}

	/**
	 * The details (tag, type, data, inline) of the entry, or null when it cannot be written safely (an extension,
	 * uuid or domain name that is not a plain dialplan token: FusionPBX puts detail data into the XML unescaped,
	 * and FreeSWITCH expands ${...} in action data) — or when the secretary has none (see wanted()).
	 */
	public static function details(array $secretary, string $domain_uuid, string $domain_name): ?array {
		$extension = (string) ($secretary['extension'] ?? '');
		$uuid = (string) ($secretary['voice_secretary_uuid'] ?? '');
		if (!self::wanted($secretary) || !preg_match('/^[0-9*#]{1,20}$/', $extension)) {
			return null;
		}
		if (!voice_secretary_client::is_uuid($uuid) || !voice_secretary_client::is_uuid($domain_uuid) || !self::token($domain_name)) {
			return null;
		}
		$details = [];
		$details[] = ['condition', 'destination_number', '^'.preg_quote($extension, '/').'$', null];
		$details[] = ['action', 'set', 'domain_uuid='.strtolower($domain_uuid), 'true'];
		$details[] = ['action', 'set', 'domain_name='.$domain_name, 'true'];
		$operator = (string) ($secretary['operator_destination'] ?? '');
		$context = (string) ($secretary['operator_context'] ?? '');
		$context = $context !== '' ? $context : $domain_name;
		if (preg_match('/^[A-Za-z0-9+*#._@-]{1,64}$/', $operator) && self::token($context)) {
			$details[] = ['action', 'set', 'voice_ai_fallback_destination='.$operator, null];
			$details[] = ['action', 'set', 'voice_ai_fallback_context='.$context, null];
		}
		if (($secretary['call_mode'] ?? 'turn') === 'stream') {
			//the entry script streams the call when mod_audio_stream is loaded (turn by turn otherwise)
			$details[] = ['action', 'set', 'voice_ai_mode=stream', null];
		}
		$details[] = ['action', 'lua', 'secretary_ai.lua '.strtolower($uuid), null];
		return $details;
	}

	/** The entry's name as Dialplan Manager would store it (it turns spaces into "_" and drops "/" on save). */
	public static function name(string $name): string {
		$name = (string) preg_replace('/\s+/u', '_', trim($name));
		$name = (string) preg_replace('/[^\p{L}\p{N}_.-]/u', '', $name);
		return $name !== '' ? mb_substr($name, 0, 100) : 'voice_secretary';
	}

	private static function token(string $value): bool {
		return preg_match('/^[A-Za-z0-9_.-]{1,128}$/', $value) === 1;
	}

	/**
	 * The v_dialplans row with its details, as FusionPBX's database class saves them. The details take the
	 * uuids in $detail_uuids in order (the entry's current ones: an update in place), new ones past them.
	 */
	public static function entry(array $secretary, string $domain_uuid, string $domain_name, array $detail_uuids = []): ?array {
		$details = self::details($secretary, $domain_uuid, $domain_name);
		if ($details === null) {
			return null;
		}
		$uuid = strtolower((string) $secretary['voice_secretary_uuid']);
		$row = [
			'dialplan_uuid' => $uuid,
			'domain_uuid' => strtolower($domain_uuid),
			'app_uuid' => self::APP_UUID,
			'dialplan_name' => self::name((string) ($secretary['name'] ?? '')),
			'dialplan_number' => (string) $secretary['extension'],
			'dialplan_context' => $domain_name,
			'dialplan_continue' => 'false',
			'dialplan_order' => self::ORDER,
			'dialplan_enabled' => 'true',
			'dialplan_destination' => 'false',
			'dialplan_description' => mb_substr(trim((string) ($secretary['name'] ?? '')), 0, 255),
			'dialplan_details' => [],
		];
		foreach ($details as $i => [$tag, $type, $data, $inline]) {
			//every column FusionPBX's own editors write: its dialplan class reads them all (break included)
			$row['dialplan_details'][] = [
				'dialplan_detail_uuid' => $detail_uuids[$i] ?? self::uuid(),
				'domain_uuid' => strtolower($domain_uuid),
				'dialplan_uuid' => $uuid,
				'dialplan_detail_tag' => $tag,
				'dialplan_detail_type' => $type,
				'dialplan_detail_data' => $data,
				'dialplan_detail_break' => null,
				'dialplan_detail_inline' => $inline,
				'dialplan_detail_group' => '0',
				'dialplan_detail_order' => (string) (($i + 1) * 10),
				'dialplan_detail_enabled' => 'true',
			];
		}
		return $row;
	}

	/**
	 * Why the extension cannot be this secretary's, or null: another extension, number alias or dialplan entry
	 * of the domain already answers it (a secretary's entry runs early and would silently take it over).
	 */
	public static function conflict(string $extension, string $secretary_uuid, string $domain_uuid, string $domain_name): ?string {
		if ($extension === '') {
			return null;
		}
		$database = self::database();
		$sql = "select count(*) from v_extensions where domain_uuid = :domain_uuid and (extension = :number or number_alias = :number)";
		if ((int) $database->select($sql, ['domain_uuid' => $domain_uuid, 'number' => $extension], 'column') > 0) {
			return 'extension';
		}
		$sql = "select count(*) from v_dialplans where (domain_uuid = :domain_uuid or dialplan_context = :context) ";
		$sql .= "and dialplan_number = :number and dialplan_uuid <> :uuid and cast(dialplan_enabled as text) = 'true'";
		$own = voice_secretary_client::is_uuid($secretary_uuid) ? $secretary_uuid : '00000000-0000-0000-0000-000000000000';
		$parameters = ['domain_uuid' => $domain_uuid, 'context' => $domain_name, 'number' => $extension, 'uuid' => $own];
		if ((int) $database->select($sql, $parameters, 'column') > 0) {
			return 'dialplan';
		}
		return null;
	}

	/** Whether the row with this uuid may be written: absent, or this domain's and this app's. */
	private static function owned(string $dialplan_uuid, string $domain_uuid): bool {
		$sql = "select domain_uuid, app_uuid from v_dialplans where dialplan_uuid = :uuid";
		$row = self::database()->select($sql, ['uuid' => $dialplan_uuid], 'row');
		if (!is_array($row) || count($row) === 0) {
			return true;
		}
		return strtolower((string) $row['domain_uuid']) === strtolower($domain_uuid) && strtolower((string) $row['app_uuid']) === self::APP_UUID;
	}

	private static function succeeded($database, $result): bool {
		if ($result === false) {
			return false;
		}
		$code = is_array($database->message ?? null) ? (string) ($database->message['code'] ?? '200') : '200';
		return $code === '200';
	}

	/** The uuids of the entry's current details, in their order. */
	private static function detail_uuids(string $dialplan_uuid): array {
		$sql = "select dialplan_detail_uuid from v_dialplan_details where dialplan_uuid = :uuid ";
		$sql .= "order by dialplan_detail_group, dialplan_detail_order, dialplan_detail_uuid";
		$rows = self::database()->select($sql, ['uuid' => $dialplan_uuid], 'all');
		$uuids = [];
		foreach (is_array($rows) ? $rows : [] as $row) {
			$uuids[] = strtolower((string) $row['dialplan_detail_uuid']);
		}
		return $uuids;
	}

	/**
	 * Create, update or remove the secretary's dialplan entry. Returns false when it could not be written (then
	 * the entry is left as it was): FusionPBX refused it, the row is not this app's, or a value cannot be put
	 * into a dialplan safely (e.g. a domain name that is not a plain token — the entry is never removed for that).
	 *
	 * The row and its details are written by one save (FusionPBX's database class runs it in one transaction):
	 * the current details are updated in place (their uuids reused), new ones added; only then are details the
	 * entry no longer has deleted. So a failed save leaves the old XML with its old details — never XML without
	 * details, which Dialplan Manager's next Save would turn into an empty entry.
	 */
	public static function sync(array $secretary, string $domain_uuid, string $domain_name): bool {
		$uuid = strtolower((string) ($secretary['voice_secretary_uuid'] ?? ''));
		if (!self::wanted($secretary)) {
			return self::remove($uuid, $domain_uuid, $domain_name);
		}
		if (!voice_secretary_client::is_uuid($uuid) || !self::owned($uuid, $domain_uuid) || !class_exists('dialplan')) {
			return false;
		}
		$current = self::detail_uuids($uuid);
		$entry = self::entry($secretary, $domain_uuid, $domain_name, $current);
		if ($entry === null) {
			return false;
		}
		//the XML from the details, by FusionPBX's own generator (as Dialplan Manager's Save does)
		$array['dialplans'][0] = $entry;
		$generator = new dialplan;
		$generator->source = 'details';
		$generator->destination = 'array';
		$generator->uuid = $uuid;
		$generator->prepare_details($array);
		$xml = $generator->xml();
		if (!is_array($xml) || empty($xml[$uuid])) {
			return false;
		}
		$array['dialplans'][0]['dialplan_xml'] = $xml[$uuid];

		$granted = self::grant(['dialplan_add', 'dialplan_edit', 'dialplan_detail_add', 'dialplan_detail_edit', 'dialplan_detail_delete']);
		$database = self::database();
		$database->app_name = 'voice_secretary';
		$database->app_uuid = self::APP_UUID;
		$database->message = null;
		$saved = $database->save($array);
		$ok = self::succeeded($database, $saved);
		$extras = array_slice($current, count($entry['dialplan_details']));
		if ($ok && count($extras) > 0) {
			$old = [];
			foreach ($extras as $detail_uuid) {
				$old['dialplan_details'][] = ['dialplan_detail_uuid' => $detail_uuid];
			}
			$database->message = null;
			$deleted = $database->delete($old);
			$ok = self::succeeded($database, $deleted);
		}
		self::revoke($granted);
		self::clear_cache($domain_name);
		return $ok;
	}

	public static function remove(string $secretary_uuid, string $domain_uuid, string $domain_name): bool {
		if (!voice_secretary_client::is_uuid($secretary_uuid) || !self::owned($secretary_uuid, $domain_uuid)) {
			return false;
		}
		$array['dialplan_details'][0]['dialplan_uuid'] = strtolower($secretary_uuid);
		$array['dialplans'][0]['dialplan_uuid'] = strtolower($secretary_uuid);
		$granted = self::grant(['dialplan_delete', 'dialplan_detail_delete']);
		$database = self::database();
		$database->app_name = 'voice_secretary';
		$database->app_uuid = self::APP_UUID;
		$database->message = null;
		$deleted = $database->delete($array);
		$ok = self::succeeded($database, $deleted);
		self::revoke($granted);
		self::clear_cache($domain_name);
		return $ok;
	}

	private static function uuid(): string {
		$bytes = random_bytes(16);
		$bytes[6] = chr((ord($bytes[6]) & 0x0f) | 0x40);
		$bytes[8] = chr((ord($bytes[8]) & 0x3f) | 0x80);
		return vsprintf('%s%s-%s-%s-%s-%s%s%s', str_split(bin2hex($bytes), 4));
	}

	private static function database() {
		global $database;
		if (is_object($database)) {
			return $database;
		}
		return method_exists('database', 'new') ? database::new() : new database;
	}

	// FusionPBX checks the caller's permissions on v_dialplans and v_dialplan_details; this app may write its own rows.
	private static function grant(array $names): array {
		$granted = [];
		if (!class_exists('permissions')) {
			return $granted;
		}
		$permissions = method_exists('permissions', 'new') ? permissions::new() : new permissions;
		foreach ($names as $name) {
			if (!permission_exists($name)) {
				$permissions->add($name, 'temp');
				$granted[] = $name;
			}
		}
		return $granted;
	}

	private static function revoke(array $granted): void {
		if (count($granted) === 0) {
			return;
		}
		$permissions = method_exists('permissions', 'new') ? permissions::new() : new permissions;
		foreach ($granted as $name) {
			$permissions->delete($name, 'temp');
		}
	}

	private static function clear_cache(string $domain_name): void {
		if (class_exists('cache')) {
			$cache = new cache;
			$cache->delete('dialplan:'.$domain_name);
		}
	}

}
