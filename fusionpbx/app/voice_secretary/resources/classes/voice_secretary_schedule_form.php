<?php
/*
 * Voice Secretary: opening hours in the app's forms (docs/opening-hours.md).
 *
 * A schedule's hours and holidays are edited as lines of text, one rule per line, the way an admin writes them:
 *   hours:    "mon-fri 08:00-18:00", "sat 08:00-12:00", "fri 22:00-06:00" (overnight)
 *   holidays: "12-25 Natal" (every year), "2026-12-28..2027-01-02 Recesso" (once, both days included)
 * and turned into the service's JSON here; the service validates the values themselves (time zone, real dates).
 *
 * A secretary or transfer rule follows one schedule: the selector's values are '' (always open), 's:<uuid>'
 * (a schedule of the service) or 't:<uuid>' (a FusionPBX time condition of the domain, FusionPBX mode).
 */

class voice_secretary_schedule_form {

	const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

	/** "mon-fri,sun" → ['mon', 'tue', 'wed', 'thu', 'fri', 'sun']; null when a day is not understood. */
	public static function days(string $spec): ?array {
		$days = [];
		foreach (explode(',', strtolower($spec)) as $part) {
			$ends = explode('-', trim($part));
			if (count($ends) > 2) {
				return null;
			}
			$first = array_search($ends[0], self::DAYS, true);
			$last = array_search($ends[count($ends) - 1], self::DAYS, true);
			if ($first === false || $last === false) {
				return null;
			}
			for ($i = $first; ; $i = ($i + 1) % 7) {
				$days[] = self::DAYS[$i];
				if ($i === $last) {
					break;
				}
			}
		}
		return array_values(array_unique($days));
	}

	/** @return array [hours, error line number (0: none)] */
	public static function parse_hours(string $text): array {
		$hours = [];
		foreach (preg_split('/\r\n|\r|\n/', $text) as $number => $line) {
			$line = trim($line);
			if ($line === '') {
				continue;
			}
			if (!preg_match('/^(\S+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$/', $line, $m) || ($days = self::days($m[1])) === null) {
				return [$hours, $number + 1];
			}
			$hours[] = ['days' => $days, 'start' => str_pad($m[2], 5, '0', STR_PAD_LEFT), 'end' => str_pad($m[3], 5, '0', STR_PAD_LEFT)];
		}
		return [$hours, 0];
	}

	/** @return array [holidays, error line number (0: none)] */
	public static function parse_holidays(string $text): array {
		$holidays = [];
		foreach (preg_split('/\r\n|\r|\n/', $text) as $number => $line) {
			$line = trim($line);
			if ($line === '') {
				continue;
			}
			if (!preg_match('/^((?:\d{4}-)?\d{2}-\d{2})(?:\.\.((?:\d{4}-)?\d{2}-\d{2}))?(?:\s+(.+))?$/', $line, $m)) {
				return [$holidays, $number + 1];
			}
			$holiday = ['date' => $m[1]];
			if (($m[2] ?? '') !== '') {
				$holiday['until'] = $m[2];
			}
			if (($m[3] ?? '') !== '') {
				$holiday['name'] = mb_substr(trim($m[3]), 0, 200);
			}
			$holidays[] = $holiday;
		}
		return [$holidays, 0];
	}

	public static function hours_text(array $hours): string {
		$lines = [];
		foreach ($hours as $line) {
			$lines[] = implode(',', (array) ($line['days'] ?? [])).' '.($line['start'] ?? '').'-'.($line['end'] ?? '');
		}
		return implode("\n", $lines);
	}

	public static function holidays_text(array $holidays): string {
		$lines = [];
		foreach ($holidays as $holiday) {
			$line = ($holiday['date'] ?? '').(!empty($holiday['until']) ? '..'.$holiday['until'] : '');
			$lines[] = trim($line.' '.($holiday['name'] ?? ''));
		}
		return implode("\n", $lines);
	}

	/** The selector's options: always open, the domain's schedules, its FusionPBX time conditions. */
	public static function options(voice_secretary_client $client, array $text): array {
		$options = ['' => $text['option-always_open']];
		foreach ($client->all('schedules') as $schedule) {
			$options['s:'.($schedule['voice_schedule_uuid'] ?? '')] = (string) ($schedule['name'] ?? '');
		}
		$conditions = $client->list('time-conditions');
		if ($conditions->ok() && is_array($conditions->data)) {
			foreach ($conditions->data as $condition) {
				if (is_array($condition) && isset($condition['time_condition_uuid'])) {
					$options['t:'.$condition['time_condition_uuid']] = ($condition['name'] ?? '').' ('.$text['label-time_condition'].')';
				}
			}
		}
		return $options;
	}

	/** The selector's value for a stored secretary or rule. */
	public static function selected(array $values): string {
		if (!empty($values['voice_schedule_uuid'])) {
			return 's:'.$values['voice_schedule_uuid'];
		}
		if (!empty($values['time_condition_uuid'])) {
			return 't:'.$values['time_condition_uuid'];
		}
		return '';
	}

	/** The API fields for a posted selector value (anything else: always open). */
	public static function fields(?string $value): array {
		$value = (string) $value;
		$id = substr($value, 2);
		$valid = voice_secretary_client::is_uuid($id);
		return [
			'voice_schedule_uuid' => ($valid && str_starts_with($value, 's:')) ? strtolower($id) : null,
			'time_condition_uuid' => ($valid && str_starts_with($value, 't:')) ? strtolower($id) : null,
		];
	}

}
