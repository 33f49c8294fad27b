<?php
/**
 * The FusionPBX dialplan entry of a secretary: extension → `lua secretary_ai.lua <secretary uuid>` in the
 * tenant's context, with the variables the call flow needs (see docs/freeswitch.md). It is a v_dialplans
 * row owned by this app (app_uuid), whose dialplan_uuid is the secretary's uuid; written through FusionPBX's
 * own database class (no SQL here), and it is what makes secretaries selectable as destinations.
 */
require_once __DIR__.'/voice_secretary_client.php';

class voice_secretary_dialplan {

	const APP_UUID = '545f45a5-0c17-4257-9d1d-275fc5f5aaf9';

	/** The <extension> XML, or null when the secretary has no extension or is disabled. */
	public static function xml(array $secretary, string $domain_uuid, string $domain_name): ?string {
		$extension = (string) ($secretary['extension'] ?? '');
		if ($extension === '' || !preg_match('/^[0-9*#]{1,20}$/', $extension) || empty($secretary['enabled'])) {
			return null;
		}
		$e = function ($value) {
			return htmlspecialchars((string) $value, ENT_QUOTES | ENT_XML1, 'UTF-8');
		};
		$expression = '^'.preg_quote($extension, '/').'$';
		$lines = [];
		$lines[] = '<extension name="voice_secretary_'.$e($extension).'" continue="false" uuid="'.$e($secretary['voice_secretary_uuid']).'">';
		$lines[] = "\t".'<condition field="destination_number" expression="'.$e($expression).'">';
		$lines[] = "\t\t".'<action application="set" data="domain_uuid='.$e($domain_uuid).'" inline="true"/>';
		$lines[] = "\t\t".'<action application="set" data="domain_name='.$e($domain_name).'" inline="true"/>';
		//only plain dialplan tokens reach the XML (FreeSWITCH expands ${...} in action data)
		$operator = (string) ($secretary['operator_destination'] ?? '');
		$context = (string) ($secretary['operator_context'] ?? '');
		$context = $context !== '' ? $context : $domain_name;
		if (preg_match('/^[A-Za-z0-9+*#._@-]{1,64}$/', $operator) && preg_match('/^[A-Za-z0-9_.-]{1,128}$/', $context)) {
			$lines[] = "\t\t".'<action application="set" data="voice_ai_fallback_destination='.$e($operator).'"/>';
			$lines[] = "\t\t".'<action application="set" data="voice_ai_fallback_context='.$e($context).'"/>';
		}
		$lines[] = "\t\t".'<action application="lua" data="secretary_ai.lua '.$e($secretary['voice_secretary_uuid']).'"/>';
		$lines[] = "\t".'</condition>';
		$lines[] = '</extension>';
		return implode("\n", $lines)."\n";
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

	/** Create, update or remove the secretary's dialplan row. Returns false when FusionPBX refused it. */
	public static function sync(array $secretary, string $domain_uuid, string $domain_name): bool {
		$xml = self::xml($secretary, $domain_uuid, $domain_name);
		if ($xml === null) {
			return self::remove((string) $secretary['voice_secretary_uuid'], $domain_uuid, $domain_name);
		}
		if (!self::owned((string) $secretary['voice_secretary_uuid'], $domain_uuid)) {
			return false;
		}
		$array['dialplans'][0] = [
			'dialplan_uuid' => $secretary['voice_secretary_uuid'],
			'domain_uuid' => $domain_uuid,
			'app_uuid' => self::APP_UUID,
			'dialplan_name' => (string) $secretary['name'],
			'dialplan_number' => (string) $secretary['extension'],
			'dialplan_context' => $domain_name,
			'dialplan_continue' => 'false',
			'dialplan_xml' => $xml,
			'dialplan_order' => '200',
			'dialplan_enabled' => 'true',
			'dialplan_description' => 'Voice Secretary',
		];
		$granted = self::grant(['dialplan_add', 'dialplan_edit']);
		$database = self::database();
		$database->app_name = 'voice_secretary';
		$database->app_uuid = self::APP_UUID;
		$saved = $database->save($array);
		$ok = self::succeeded($database, $saved);
		self::revoke($granted);
		self::clear_cache($domain_name);
		return $ok;
	}

	public static function remove(string $secretary_uuid, string $domain_uuid, string $domain_name): bool {
		if (!self::owned($secretary_uuid, $domain_uuid)) {
			return false;
		}
		$array['dialplans'][0]['dialplan_uuid'] = $secretary_uuid;
		$array['dialplans'][0]['domain_uuid'] = $domain_uuid;
		$array['dialplans'][0]['app_uuid'] = self::APP_UUID;
		$granted = self::grant(['dialplan_delete']);
		$database = self::database();
		$database->app_name = 'voice_secretary';
		$database->app_uuid = self::APP_UUID;
		$deleted = $database->delete($array);
		$ok = self::succeeded($database, $deleted);
		self::revoke($granted);
		self::clear_cache($domain_name);
		return $ok;
	}

	private static function database() {
		global $database;
		if (is_object($database)) {
			return $database;
		}
		return method_exists('database', 'new') ? database::new() : new database;
	}

	// FusionPBX checks the caller's permissions on v_dialplans; this app may write its own rows.
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
