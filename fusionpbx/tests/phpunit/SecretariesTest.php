<?php
use PHPUnit\Framework\TestCase;

/** The secretaries list and edit pages, against the real service. */
final class SecretariesTest extends TestCase {

	private function browser(): Browser {
		return (new Browser())->login(env_or_fail('DOMAIN_A'), env_or_fail('DOMAIN_A_NAME'));
	}

	public function test_the_list_shows_the_tenants_secretaries_only(): void {
		$page = $this->browser()->get('/app/voice_secretary/voice_secretaries.php');
		$this->assertSame(200, $page->status);
		$this->assertStringContainsString('voice_secretary_edit.php?id='.env_or_fail('SECRETARY_A'), $page->body);
		$this->assertStringNotContainsString(env_or_fail('SECRETARY_B'), $page->body);
		$this->assertSame('8000', $page->text("//tr[td/a[contains(@href, '".env_or_fail('SECRETARY_A')."')]]/td[3]"));
	}

	public function test_saving_the_edit_form_updates_the_service_and_the_dialplan(): void {
		$browser = $this->browser();
		$id = env_or_fail('SECRETARY_A');
		$page = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id);
		$fields = $page->form('frm');
		$this->assertSame('8000', $fields['extension']);
		$this->assertSame('', $fields['webhook_secret'], 'secrets are never echoed');
		$fields['greeting'] = 'Bom dia! <Contabilidade> & cia. Em que posso ajudar?';
		$fields['max_turns'] = '7';
		$fields['submit_action'] = 'save';
		$saved = $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $fields);
		$this->assertSame(['Updated'], $saved->messages());
		[$status, $secretary] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id);
		$this->assertSame(200, $status);
		$this->assertSame('Bom dia! <Contabilidade> & cia. Em que posso ajudar?', $secretary['greeting']);
		$this->assertSame(7, $secretary['max_turns']);
		$this->assertStringContainsString('Bom dia! &lt;Contabilidade&gt; &amp; cia.', $saved->body, 'output is escaped');

		$row = database()->query("select * from v_dialplans where dialplan_uuid = '$id'")->fetch(PDO::FETCH_ASSOC);
		$this->assertSame(env_or_fail('DOMAIN_A'), $row['domain_uuid']);
		$this->assertSame('545f45a5-0c17-4257-9d1d-275fc5f5aaf9', $row['app_uuid']);
		$this->assertSame('8000', $row['dialplan_number']);
		$this->assertSame(env_or_fail('DOMAIN_A_NAME'), $row['dialplan_context']);
		//written like FusionPBX's own apps: the details, and the XML generated from them (issue 10, point 9)
		$details = dialplan_details($id);
		$this->assertSame(['condition', 'destination_number', '^8000$'], array_slice($details[0], 0, 3));
		$this->assertSame(['action', 'lua', 'secretary_ai.lua '.$id], array_slice(end($details), 0, 3));
		$this->assertContains(['action', 'set', 'voice_ai_fallback_destination=200', null], array_map(function ($d) { return array_slice($d, 0, 4); }, $details));
		$this->assertContains(['action', 'set', 'domain_uuid='.env_or_fail('DOMAIN_A'), 'true'], array_map(function ($d) { return array_slice($d, 0, 4); }, $details));
		foreach ($details as $detail) {
			$this->assertSame(['0', 'true'], [$detail[4], $detail[6]]);
		}
		$this->assertSame($secretary['name'] === '' ? '' : str_replace(' ', '_', $secretary['name']), $row['dialplan_name'], 'named as Dialplan Manager would keep it');
		$this->assertSame($secretary['name'], $row['dialplan_description']);
		$this->assertSame(count($details), count(dialplan_details($id)));
		$uuids = detail_uuids($id);
		save_secretary($browser, $id);
		$this->assertCount(count($details), dialplan_details($id), 'saving again rewrites the details, it does not add more');
		$this->assertSame($uuids, detail_uuids($id), 'updated in place, in one save (never deleted first)');
		//fewer details (no operator): the extra ones go, the rest keep their rows
		$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id)->form('frm');
		$form['operator_destination'] = '';
		$form['submit_action'] = 'save';
		$this->assertSame(['Updated'], $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $form)->messages());
		$this->assertSame(array_slice($uuids, 0, count($uuids) - 2), detail_uuids($id));
		$this->assertNotContains('voice_ai_fallback_destination=200', array_column(dialplan_details($id), 2));
		$form['operator_destination'] = '200';
		$this->assertSame(['Updated'], $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $form)->messages());
		$this->assertCount(count($details), dialplan_details($id));
		$xml = simplexml_load_string($row['dialplan_xml']);
		$this->assertSame('^8000$', (string) $xml->condition['expression']);
		$actions = [];
		foreach ($xml->condition->action as $action) {
			$actions[] = [(string) $action['application'], (string) $action['data']];
		}
		$this->assertContains(['set', 'domain_uuid='.env_or_fail('DOMAIN_A')], $actions);
		$this->assertContains(['set', 'voice_ai_fallback_destination=200'], $actions);
		$this->assertSame(['lua', 'secretary_ai.lua '.$id], end($actions));
		$this->assertSame(array_map(function ($d) { return [$d[1], $d[2]]; }, array_slice($details, 1)), $actions, 'the XML is the details');
	}

	public function test_a_new_secretary_gets_its_dialplan_and_deleting_it_removes_both(): void {
		$browser = $this->browser();
		$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php')->form('frm');
		$form['name'] = 'Plantão <noite>';
		$form['extension'] = '8055';
		$form['operator_destination'] = '201';
		$form['submit_action'] = 'save';
		$page = $browser->post('/app/voice_secretary/voice_secretary_edit.php', $form);
		$this->assertSame(['Added'], $page->messages());
		$this->assertMatchesRegularExpression('/id=([0-9a-f-]{36})/', $page->url);
		preg_match('/id=([0-9a-f-]{36})/', $page->url, $match);
		$id = $match[1];
		$this->assertSame('8055', database()->query("select dialplan_number from v_dialplans where dialplan_uuid = '$id'")->fetchColumn());

		$list = $browser->get('/app/voice_secretary/voice_secretaries.php');
		$this->assertStringContainsString('Plantão &lt;noite&gt;', $list->body);
		$this->assertCount(6, dialplan_details($id));
		$after = $browser->post('/app/voice_secretary/voice_secretaries.php', check_rows($list->form('form_list'), [$id]));
		$this->assertSame(['Deleted'], $after->messages());
		$this->assertSame(404, Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id)[0]);
		$this->assertFalse(database()->query("select 1 from v_dialplans where dialplan_uuid = '$id'")->fetchColumn());
		$this->assertSame([], dialplan_details($id), 'its details go too');
	}

	public function test_an_entry_that_cannot_be_written_is_reported_and_kept(): void {
		//a domain name that is no plain dialplan token cannot go into the entry: the save says so, and the entry
		//stays as it was (it used to be removed silently, with "Updated")
		$id = env_or_fail('SECRETARY_A');
		$before = dialplan_details($id);
		$this->assertNotSame([], $before);
		$browser = (new Browser())->login(env_or_fail('DOMAIN_A'), 'demo localhost');
		$page = save_secretary($browser, $id);
		$this->assertSame(['Saved, but the dialplan entry could not be written: check the Dialplan Manager.'], $page->messages('negative'));
		$this->assertSame($before, dialplan_details($id));
		$this->assertSame('8000', database()->query("select dialplan_number from v_dialplans where dialplan_uuid = '$id'")->fetchColumn());
	}

	public function test_errors_are_shown_next_to_the_field_all_at_once_and_nothing_is_lost(): void {
		$browser = $this->browser();
		$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php')->form('frm');
		$form['name'] = '';
		$form['extension'] = '80a0';
		$form['max_turns'] = '500';
		$form['greeting'] = 'Olá, texto que não pode sumir';
		$form['submit_action'] = 'save';
		$page = $browser->post('/app/voice_secretary/voice_secretary_edit.php', $form);
		//one round: the service's verdict on every field, each next to its field (issue 10, point 14)
		$row_error = function (Page $page, string $field): string {
			return $page->text("//tr[.//*[@name='$field']]//span[@class='voice-secretary-error']");
		};
		$this->assertNotSame('', $row_error($page, 'name'), 'no name');
		$this->assertNotSame('', $row_error($page, 'extension'), 'not a number');
		$this->assertNotSame('', $row_error($page, 'max_turns'), 'too many turns');
		//and the page says at the top that nothing was saved, where FusionPBX's own forms say it
		$this->assertSame(['Not saved: correct what is marked in red below.'], $page->messages('negative'));
		$this->assertSame([], $page->messages());
		$again = $page->form('frm');
		$this->assertSame('Olá, texto que não pode sumir', $again['greeting']);
		$this->assertSame('80a0', $again['extension']);
		$this->assertSame('500', $again['max_turns']);
		[, $list] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries?limit=200');
		$this->assertNotContains('Olá, texto que não pode sumir', array_column($list['items'], 'greeting'), 'nothing was saved');
	}

	public function test_an_extension_or_context_of_someone_else_is_refused(): void {
		$browser = $this->browser();
		$id = env_or_fail('SECRETARY_A');
		[, $before] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id);
		$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id)->form('frm');
		$form['submit_action'] = 'save';
		foreach (['8100', '5100'] as $taken) { //an extension of the domain, and its number alias
			$page = $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, ['extension' => $taken] + $form);
			$this->assertStringContainsString('already belongs', $page->text("//span[@class='voice-secretary-error']"));
		}
		$page = $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, ['operator_context' => env_or_fail('DOMAIN_B_NAME')] + $form);
		$this->assertStringContainsString("Only this domain's context", $page->text("//span[@class='voice-secretary-error']"));
		$this->assertSame(['Not saved: correct what is marked in red below.'], $page->messages('negative'));
		[, $after] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id);
		$this->assertSame($before['update_date'], $after['update_date']);
		//the domain's own context is fine
		$page = $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, ['operator_context' => env_or_fail('DOMAIN_A_NAME')] + $form);
		$this->assertSame(['Updated'], $page->messages());
	}

	public function test_a_form_without_its_csrf_token_changes_nothing(): void {
		$browser = $this->browser();
		$id = env_or_fail('SECRETARY_A');
		$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id)->form('frm');
		[, $before] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id);
		$tampered = [];
		foreach ($form as $name => $value) {
			if (strlen($name) !== 32) { //the token's field name is random hex
				$tampered[$name] = $value;
			}
		}
		$tampered['greeting'] = 'forged';
		$page = $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $tampered);
		$this->assertSame(['Invalid token: reload the page and try again.'], $page->messages('negative'));
		[, $after] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id);
		$this->assertSame($before['greeting'], $after['greeting']);
	}

	public function test_the_webhook_secret_is_write_only(): void {
		$browser = $this->browser();
		$id = env_or_fail('SECRETARY_A');
		$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id)->form('frm');
		$form['webhook_url'] = 'https://crm.example.com/hook';
		$form['webhook_secret'] = 'super-secret-value-123';
		$form['submit_action'] = 'save';
		$page = $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $form);
		$this->assertStringNotContainsString('super-secret-value-123', $page->body);
		$this->assertSame('', $page->form('frm')['webhook_secret']);
		//saving again without typing it keeps it
		$form = $page->form('frm');
		$form['submit_action'] = 'save';
		$browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $form);
		[, $secretary] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id);
		$this->assertNotEmpty($secretary['webhook_secret']);
		$this->assertStringNotContainsString('super-secret', $secretary['webhook_secret']);
		$this->assertStringEndsWith('123', $secretary['webhook_secret']);
	}

	public function test_try_it_answers_with_the_action(): void {
		$browser = $this->browser();
		$id = env_or_fail('SECRETARY_A');
		$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id)->form('form_try');
		$form['question'] = 'Preciso da segunda via do boleto';
		$form['submit_action'] = 'try';
		$page = $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $form);
		$this->assertStringContainsString('Preciso da segunda via do boleto', $page->text("//div[@id='try_transcript']"));
		$this->assertNotSame('', $page->text("//span[@class='try-response']"));
		$this->assertSame('transfer', $page->dom()->query("//span[@class='try-action']/@data-action")->item(0)->nodeValue);
		$this->assertStringContainsString('Transfer → Financeiro (203)', $page->text("//span[@class='try-action']"));
		//the try call is in the call log of this tenant, with the outcome of its transfer (issue 10, point 10)
		[, $calls] = Api::domain(env_or_fail('DOMAIN_A'), '/conversations?caller=try-it&limit=1');
		$this->assertGreaterThanOrEqual(1, $calls['total']);
		$this->assertSame('transferred', $calls['items'][0]['outcome']);
		$this->assertSame('203', $calls['items'][0]['transfer_destination']);
	}

	public function test_a_try_it_conversation_ends_when_the_page_is_left(): void {
		$browser = $this->browser();
		$id = env_or_fail('SECRETARY_A');
		$ask = function () use ($browser, $id): Page {
			$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id)->form('form_try');
			$form['question'] = 'Qual é o horário de atendimento?';
			$form['submit_action'] = 'try';
			return $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $form);
		};
		$latest = function (): array {
			[, $calls] = Api::domain(env_or_fail('DOMAIN_A'), '/conversations?caller=try-it&limit=1');
			return $calls['items'][0];
		};
		//a question answered: the conversation goes on while the page stays open (the redirect back to it included)
		$page = $ask();
		$this->assertSame('continue', $page->dom()->query("//span[@class='try-action']/@data-action")->item(0)->nodeValue);
		$this->assertStringContainsString('navigator.sendBeacon', $page->body, 'leaving the page tells the server');
		$call = $latest();
		$this->assertNull($call['outcome']);
		//the browser leaving the page sends try_end with the page's token: the caller "hung up"
		$fields = $page->form('form_try');
		$fields['submit_action'] = 'try_end';
		$browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $fields);
		$ended = Api::domain(env_or_fail('DOMAIN_A'), '/conversations/'.$call['voice_conversation_uuid'])[1];
		$this->assertSame('hangup', $ended['outcome']);
		//without the beacon (a closed browser), opening the page again ends what was left open
		$ask();
		$call = $latest();
		$this->assertNull($call['outcome']);
		$again = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id);
		$this->assertSame('hangup', Api::domain(env_or_fail('DOMAIN_A'), '/conversations/'.$call['voice_conversation_uuid'])[1]['outcome']);
		$this->assertSame('', $again->text("//div[@id='try_transcript']"), 'a fresh box');
	}

	public function test_a_superadmins_context_does_not_stop_the_tenant_admin(): void {
		$id = env_or_fail('SECRETARY_A');
		$superadmin = (new Browser())->login(env_or_fail('DOMAIN_A'), env_or_fail('DOMAIN_A_NAME'), 'all', ['group' => 'superadmin']);
		$form = $superadmin->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id)->form('frm');
		$form['operator_context'] = env_or_fail('DOMAIN_B_NAME');
		$form['submit_action'] = 'save';
		$this->assertSame(['Updated'], $superadmin->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $form)->messages());
		$this->assertSame(env_or_fail('DOMAIN_B_NAME'), Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id)[1]['operator_context']);
		//the tenant's admin sees it read-only and can still save everything else (issue 10, point 12)
		$admin = $this->browser();
		$page = $admin->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id);
		$this->assertSame('readonly', $page->dom()->query("//input[@name='operator_context']/@readonly")->item(0)->nodeValue ?? '');
		$form = $page->form('frm');
		$form['greeting'] = 'Saudação do administrador do domínio';
		$form['submit_action'] = 'save';
		$this->assertSame(['Updated'], $admin->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $form)->messages());
		[, $stored] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id);
		$this->assertSame('Saudação do administrador do domínio', $stored['greeting']);
		$this->assertSame(env_or_fail('DOMAIN_B_NAME'), $stored['operator_context']);
		//changing it is still the superadmin's: a forged value is refused and nothing changes
		$form['operator_context'] = 'public';
		$form['greeting'] = 'forjada';
		$refused = $admin->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $form);
		$this->assertStringContainsString("Only this domain's context", $refused->text("//tr[.//*[@name='operator_context']]//span[@class='voice-secretary-error']"));
		$this->assertSame('Saudação do administrador do domínio', Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id)[1]['greeting']);
		//the same for a transfer rule
		[, $rules] = Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules?limit=1');
		$rule = $rules['items'][0]['voice_transfer_rule_uuid'];
		$keywords = $rules['items'][0]['keywords'];
		$form = $superadmin->get('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$rule)->form('frm');
		$form['destination_context'] = env_or_fail('DOMAIN_B_NAME');
		$this->assertSame(['Updated'], $superadmin->post('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$rule, $form)->messages());
		$form = $admin->get('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$rule)->form('frm');
		$form['keywords'] = 'boleto, segunda via, nota fiscal';
		$this->assertSame(['Updated'], $admin->post('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$rule, $form)->messages());
		[, $stored] = Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules/'.$rule);
		$this->assertSame(['boleto', 'segunda via', 'nota fiscal'], $stored['keywords']);
		$this->assertSame(env_or_fail('DOMAIN_B_NAME'), $stored['destination_context']);
		//put things back for the other tests
		Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id, 'PATCH', ['operator_context' => null]);
		Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules/'.$rule, 'PATCH', ['destination_context' => null, 'keywords' => $keywords]);
		save_secretary($admin, $id);
	}

	public function test_without_permission_the_pages_say_access_denied(): void {
		$browser = (new Browser())->login(env_or_fail('DOMAIN_A'), env_or_fail('DOMAIN_A_NAME'), 'voice_conversation_view');
		foreach (['voice_secretaries.php', 'voice_secretary_edit.php', 'voice_transfer_rules.php', 'voice_documents.php', 'voice_providers.php', 'voice_provider_edit.php'] as $page) {
			$this->assertSame('access denied', trim($browser->get('/app/voice_secretary/'.$page)->body), $page);
		}
		$this->assertSame(200, $browser->get('/app/voice_secretary/voice_conversations.php')->status);
	}
}
