<?php
use PHPUnit\Framework\TestCase;

/** Opening hours pages (issue 13): schedules written as lines, the selector on transfer rules and secretaries. */
final class SchedulesTest extends TestCase {

	private function browser(string $domain = 'A', string $language = 'en-us'): Browser {
		return (new Browser())->login(env_or_fail('DOMAIN_'.$domain), env_or_fail('DOMAIN_'.$domain.'_NAME'), 'all', ['language' => $language]);
	}

	public function test_the_form_lines_are_parsed_like_an_admin_writes_them(): void {
		require_once getenv('APP_DIR').'/resources/classes/voice_secretary_client.php';
		require_once getenv('APP_DIR').'/resources/classes/voice_secretary_schedule_form.php';
		[$hours, $bad] = voice_secretary_schedule_form::parse_hours("mon-fri 8:00-18:00\n\nsat,sun 09:00 - 12:00\nfri-mon 22:00-06:00");
		$this->assertSame(0, $bad);
		$this->assertSame(['mon', 'tue', 'wed', 'thu', 'fri'], $hours[0]['days']);
		$this->assertSame(['08:00', '18:00'], [$hours[0]['start'], $hours[0]['end']]);
		$this->assertSame(['sat', 'sun'], $hours[1]['days']);
		$this->assertSame(['fri', 'sat', 'sun', 'mon'], $hours[2]['days']); //a range across the week's end
		$this->assertSame(2, voice_secretary_schedule_form::parse_hours("mon 08:00-12:00\nmonday 8-12")[1]);
		[$holidays, $bad] = voice_secretary_schedule_form::parse_holidays("12-25 Natal\n2026-12-28..2027-01-02 Recesso de fim de ano\n01-01");
		$this->assertSame(0, $bad);
		$this->assertSame([['date' => '12-25', 'name' => 'Natal'], ['date' => '2026-12-28', 'until' => '2027-01-02', 'name' => 'Recesso de fim de ano'], ['date' => '01-01']], $holidays);
		$this->assertSame(1, voice_secretary_schedule_form::parse_holidays('25/12 Natal')[1]);
		$this->assertSame(['voice_schedule_uuid' => null, 'time_condition_uuid' => null], voice_secretary_schedule_form::fields('s:not-a-uuid'));
	}

	public function test_a_schedule_is_added_shown_and_followed_by_a_transfer_rule(): void {
		$browser = $this->browser();
		$form = $browser->get('/app/voice_secretary/voice_schedule_edit.php')->form('frm');
		$this->assertSame('America/Sao_Paulo', $form['time_zone']);
		$form['name'] = 'Horário do financeiro';
		$form['hours'] = "mon-fri 08:00-18:00\nsat 08:00-12:00";
		$form['holidays'] = "12-25 Natal\n2026-12-28..2027-01-02 Recesso";
		$page = $browser->post('/app/voice_secretary/voice_schedule_edit.php', $form);
		$this->assertSame(['Added'], $page->messages());
		[, $listed] = Api::domain(env_or_fail('DOMAIN_A'), '/schedules?limit=200');
		$schedule = array_values(array_filter($listed['items'], function ($s) { return $s['name'] === 'Horário do financeiro'; }))[0];
		$this->assertSame(['days' => ['sat'], 'start' => '08:00', 'end' => '12:00'], $schedule['hours'][1]);
		$this->assertSame(['name' => 'Recesso', 'date' => '2026-12-28', 'until' => '2027-01-02'], $schedule['holidays'][1]);
		$id = $schedule['voice_schedule_uuid'];
		$list = $browser->get('/app/voice_secretary/voice_schedules.php');
		$this->assertMatchesRegularExpression('/^(Open|Closed)/', $list->text("//tr[td/a[text()='Horário do financeiro']]/td[@class='schedule-now']"));

		//what the admin wrote comes back as lines; a line not understood is shown next to its field, nothing is lost
		$form = $browser->get('/app/voice_secretary/voice_schedule_edit.php?id='.$id)->form('frm');
		$this->assertSame("mon,tue,wed,thu,fri 08:00-18:00\nsat 08:00-12:00", $form['hours']);
		$form['hours'] .= "\nsábado 8h-12h";
		$form['time_zone'] = 'America/Sao_Paulo';
		$page = $browser->post('/app/voice_secretary/voice_schedule_edit.php?id='.$id, $form);
		$this->assertStringContainsString('Line 3 is not understood', $page->text("//span[@class='voice-secretary-error']"));
		$this->assertSame("mon,tue,wed,thu,fri 08:00-18:00\nsat 08:00-12:00\nsábado 8h-12h", $page->form('frm')['hours']);
		$form['hours'] = 'mon 08:00-18:00';
		$form['time_zone'] = 'Mars/Olympus';
		$page = $browser->post('/app/voice_secretary/voice_schedule_edit.php?id='.$id, $form);
		$this->assertStringContainsString('unknown time zone', $page->body);

		//the transfer rule page offers it; the rule follows it
		$rule = $browser->get('/app/voice_secretary/voice_transfer_rule_edit.php')->form('frm');
		$this->assertSame('', $rule['opening_hours']); //always open by default
		$rule['department_name'] = 'Cobrança';
		$rule['destination_number'] = '207';
		$rule['opening_hours'] = 's:'.$id;
		$this->assertSame(['Added'], $browser->post('/app/voice_secretary/voice_transfer_rule_edit.php', $rule)->messages());
		[, $rules] = Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules?limit=200');
		$saved = array_values(array_filter($rules['items'], function ($r) { return $r['department_name'] === 'Cobrança'; }))[0];
		$this->assertSame($id, $saved['voice_schedule_uuid']);
		$again = $browser->get('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$saved['voice_transfer_rule_uuid'])->form('frm');
		$this->assertSame('s:'.$id, $again['opening_hours']);

		//another tenant neither sees it nor can give it to its own rule
		$intruder = $this->browser('B');
		$page = $intruder->get('/app/voice_secretary/voice_schedule_edit.php?id='.$id);
		$this->assertSame(['Not found.'], $page->messages('negative'));
		$theirs = $intruder->get('/app/voice_secretary/voice_transfer_rule_edit.php')->form('frm');
		$theirs['department_name'] = 'Intruso';
		$theirs['destination_number'] = '208';
		$theirs['opening_hours'] = 's:'.$id;
		$page = $intruder->post('/app/voice_secretary/voice_transfer_rule_edit.php', $theirs);
		$this->assertStringContainsString('no schedule with this id in this domain', $page->body);

		Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules/'.$saved['voice_transfer_rule_uuid'], 'DELETE');
		$fields = check_rows($browser->get('/app/voice_secretary/voice_schedules.php')->form('form_list'), [$id]);
		$this->assertSame(['Deleted'], $browser->post('/app/voice_secretary/voice_schedules.php', $fields)->messages());
	}

	public function test_the_secretary_page_offers_opening_hours_in_portuguese(): void {
		$page = $this->browser('A', 'pt-br')->get('/app/voice_secretary/voice_secretary_edit.php?id='.env_or_fail('SECRETARY_A'));
		$this->assertStringContainsString('Horário de Atendimento', $page->body);
		$this->assertStringContainsString('Sempre aberto', $page->body);
		$schedules = $this->browser('A', 'pt-br')->get('/app/voice_secretary/voice_schedules.php');
		$this->assertStringContainsString('Horários de Atendimento', $schedules->body);
	}

}
