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
		$xml = simplexml_load_string($row['dialplan_xml']);
		$this->assertSame('^8000$', (string) $xml->condition['expression']);
		$actions = [];
		foreach ($xml->condition->action as $action) {
			$actions[] = [(string) $action['application'], (string) $action['data']];
		}
		$this->assertContains(['set', 'domain_uuid='.env_or_fail('DOMAIN_A')], $actions);
		$this->assertContains(['set', 'voice_ai_fallback_destination=200'], $actions);
		$this->assertSame(['lua', 'secretary_ai.lua '.$id], end($actions));
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
		$fields = $list->form('form_list');
		foreach ($fields as $name => $value) {
			if ($value === $id) {
				$fields[str_replace('[uuid]', '[checked]', $name)] = 'true';
			}
		}
		$after = $browser->post('/app/voice_secretary/voice_secretaries.php', $fields);
		$this->assertSame(['Deleted'], $after->messages());
		$this->assertSame(404, Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id)[0]);
		$this->assertFalse(database()->query("select 1 from v_dialplans where dialplan_uuid = '$id'")->fetchColumn());
	}

	public function test_errors_are_shown_next_to_the_field_and_nothing_is_lost(): void {
		$browser = $this->browser();
		$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php')->form('frm');
		$form['name'] = 'Sem ramal válido';
		$form['extension'] = '80a0';
		$form['greeting'] = 'Olá, texto que não pode sumir';
		$form['submit_action'] = 'save';
		$page = $browser->post('/app/voice_secretary/voice_secretary_edit.php', $form);
		$this->assertStringContainsString('extension', strtolower($page->text("//span[@class='voice-secretary-error']/ancestor::tr[1]")));
		$again = $page->form('frm');
		$this->assertSame('Olá, texto que não pode sumir', $again['greeting']);
		$this->assertSame('80a0', $again['extension']);

		$form['name'] = '';
		$page = $browser->post('/app/voice_secretary/voice_secretary_edit.php', $form);
		$this->assertStringContainsString('Please provide: Name', $page->body);
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
		$this->assertStringContainsString('transfer', $page->text("//span[@class='try-action']"));
		$this->assertStringContainsString('(203)', $page->text("//span[@class='try-action']"));
		//the try call is in the call log of this tenant
		[, $calls] = Api::domain(env_or_fail('DOMAIN_A'), '/conversations?caller=try-it');
		$this->assertGreaterThanOrEqual(1, $calls['total']);
	}

	public function test_without_permission_the_pages_say_access_denied(): void {
		$browser = (new Browser())->login(env_or_fail('DOMAIN_A'), env_or_fail('DOMAIN_A_NAME'), 'voice_conversation_view');
		foreach (['voice_secretaries.php', 'voice_secretary_edit.php', 'voice_transfer_rules.php', 'voice_documents.php', 'voice_providers.php', 'voice_provider_edit.php'] as $page) {
			$this->assertSame('access denied', trim($browser->get('/app/voice_secretary/'.$page)->body), $page);
		}
		$this->assertSame(200, $browser->get('/app/voice_secretary/voice_conversations.php')->status);
	}
}
