<?php
/**
 * The FusionPBX dialplan entry of a secretary: extension → `lua secretary_ai.lua <secretary uuid>` in the
 * tenant's context, with the variables the call flow needs (see docs/freeswitch.md). It is a v_dialplans
 * row owned by this app (app_uuid), whose dialplan_uuid is the secretary's uuid; written through FusionPBX's
 * own database class (no SQL here), and it is what makes secretaries selectable as destinations.
 */
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
		$operator = (string) ($secretary['operator_destination'] ?? '');
		if ($operator !== '' && preg_match('/^[A-Za-z0-9+*#._@-]{1,64}$/', $operator)) {
			$lines[] = "\t\t".'<action application="set" data="voice_ai_fallback_destination='.$e($operator).'"/>';
			$context = (string) ($secretary['operator_context'] ?? '') !== '' ? $secretary['operator_context'] : $domain_name;
			$lines[] = "\t\t".'<action application="set" data="voice_ai_fallback_context='.$e($context).'"/>';
		}
		$lines[] = "\t\t".'<action application="lua" data="secretary_ai.lua '.$e($secretary['voice_secretary_uuid']).'"/>';
		$lines[] = "\t".'</condition>';
		$lines[] = '</extension>';
		return implode("\n", $lines)."\n";
	}

	/** Create, update or remove the secretary's dialplan row. Returns false when FusionPBX refused it. */
	public static function sync(array $secretary, string $domain_uuid, string $domain_name): bool {
		$xml = self::xml($secretary, $domain_uuid, $domain_name);
		if ($xml === null) {
			return self::remove((string) $secretary['voice_secretary_uuid'], $domain_uuid, $domain_name);
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
		self::revoke($granted);
		self::clear_cache($domain_name);
		return $saved !== false;
	}

	public static function remove(string $secretary_uuid, string $domain_uuid, string $domain_name): bool {
		$array['dialplans'][0]['dialplan_uuid'] = $secretary_uuid;
		$array['dialplans'][0]['domain_uuid'] = $domain_uuid;
		$granted = self::grant(['dialplan_delete']);
		$database = self::database();
		$database->app_name = 'voice_secretary';
		$database->app_uuid = self::APP_UUID;
		$deleted = $database->delete($array);
		self::revoke($granted);
		self::clear_cache($domain_name);
		return $deleted !== false;
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
