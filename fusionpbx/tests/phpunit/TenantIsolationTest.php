<?php
use PHPUnit\Framework\TestCase;

/**
 * A session of domain B cannot see or change domain A's objects, even with A's ids typed into the URL or the
 * form: the pages take the tenant from the session only, and the service answers 404 across tenants.
 */
final class TenantIsolationTest extends TestCase {

	private function intruder(): Browser {
		return (new Browser())->login(env_or_fail('DOMAIN_B'), env_or_fail('DOMAIN_B_NAME'));
	}

	public function test_as_domain_b_a_secretary_of_domain_a_is_not_found(): void {
		$browser = $this->intruder();
		$a = env_or_fail('SECRETARY_A');
		$page = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.$a);
		$this->assertStringEndsWith('/voice_secretaries.php', $page->url);
		$this->assertSame(['Not found.'], $page->messages('negative'));
		$this->assertStringNotContainsString($a, $page->body);
		$this->assertStringContainsString(env_or_fail('SECRETARY_B'), $page->body);
	}

	public function test_as_domain_b_posting_domain_a_ids_changes_nothing_in_a(): void {
		$a = env_or_fail('SECRETARY_A');
		save_secretary((new Browser())->login(env_or_fail('DOMAIN_A'), env_or_fail('DOMAIN_A_NAME')), $a);
		$browser = $this->intruder();
		[, $before] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$a);
		//B's own form, with A's id and domain put in by hand
		$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.env_or_fail('SECRETARY_B'))->form('frm');
		$form['id'] = $a;
		$form['domain_uuid'] = env_or_fail('DOMAIN_A');
		$form['greeting'] = 'hijacked';
		$form['submit_action'] = 'save';
		$browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$a, $form);
		[, $after] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$a);
		$this->assertSame($before['greeting'], $after['greeting']);
		$this->assertSame($before['update_date'], $after['update_date']);
		[, $b] = Api::domain(env_or_fail('DOMAIN_B'), '/secretaries/'.env_or_fail('SECRETARY_B'));
		$this->assertNotSame('hijacked', $b['greeting']);

		//bulk delete with A's id in the list form
		$list = $browser->get('/app/voice_secretary/voice_secretaries.php')->form('form_list');
		$list['voice_secretaries'.'[99][uuid]'] = $a;
		$list['voice_secretaries'.'[99][checked]'] = 'true';
		$list['action'] = 'delete';
		$browser->post('/app/voice_secretary/voice_secretaries.php', $list);
		$this->assertSame(200, Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$a)[0]);
		$this->assertSame(1, (int) database()->query("select count(*) from v_dialplans where dialplan_uuid = '$a'")->fetchColumn(), "A's dialplan stays");
	}

	public function test_a_new_object_always_lands_in_the_sessions_domain(): void {
		$browser = $this->intruder();
		$form = $browser->get('/app/voice_secretary/voice_transfer_rule_edit.php')->form('frm');
		$form['department_name'] = 'Intruso';
		$form['destination_number'] = '299';
		$form['domain_uuid'] = env_or_fail('DOMAIN_A');
		$browser->post('/app/voice_secretary/voice_transfer_rule_edit.php?domain_uuid='.env_or_fail('DOMAIN_A'), $form);
		[, $rules_a] = Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules?limit=200');
		[, $rules_b] = Api::domain(env_or_fail('DOMAIN_B'), '/transfer-rules?limit=200');
		$this->assertNotContains('Intruso', array_column($rules_a['items'], 'department_name'));
		$this->assertContains('Intruso', array_column($rules_b['items'], 'department_name'));
	}

	public function test_other_pages_refuse_domain_a_ids_too(): void {
		$browser = $this->intruder();
		[, $rules] = Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules?limit=1');
		[, $docs] = Api::domain(env_or_fail('DOMAIN_A'), '/documents?limit=1');
		[, $providers] = Api::domain(env_or_fail('DOMAIN_A'), '/providers?limit=1');
		[, $calls] = Api::domain(env_or_fail('DOMAIN_A'), '/conversations?limit=1');
		$rule = $rules['items'][0]['voice_transfer_rule_uuid'];
		$this->assertSame(['Not found.'], $browser->get('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$rule)->messages('negative'));
		$call = $calls['items'][0]['voice_conversation_uuid'];
		$this->assertSame(['Not found.'], $browser->get('/app/voice_secretary/voice_conversation_view.php?id='.$call)->messages('negative'));
		//B's own conversation page gives a valid delete form; pointed at A's call it deletes nothing
		$b_call = 'b-call-'.bin2hex(random_bytes(6));
		Api::call('POST', '/api/v1/calls', ['domain_uuid' => env_or_fail('DOMAIN_B'), 'secretary' => '8000', 'call_uuid' => $b_call]);
		Api::call('POST', '/api/v1/calls/'.$b_call.'/end', ['domain_uuid' => env_or_fail('DOMAIN_B'), 'outcome' => 'abandoned']);
		[, $b_calls] = Api::domain(env_or_fail('DOMAIN_B'), '/conversations?limit=1');
		$b_view = $browser->get('/app/voice_secretary/voice_conversation_view.php?id='.$b_calls['items'][0]['voice_conversation_uuid']);
		$forged = $b_view->form('form_delete') + ['action' => 'delete'];
		$refused = $browser->post('/app/voice_secretary/voice_conversation_view.php?id='.$call, $forged);
		$this->assertSame(['Not found.'], $refused->messages('negative'));
		$this->assertSame(200, Api::domain(env_or_fail('DOMAIN_A'), '/conversations/'.$call)[0], "A's call is still there");
		if (count($providers['items']) > 0) {
			$this->assertSame(['Not found.'], $browser->get('/app/voice_secretary/voice_provider_edit.php?id='.$providers['items'][0]['voice_ai_provider_uuid'])->messages('negative'));
		}
		//documents: deleting A's document from B's page leaves it in A
		$doc = $docs['items'][0]['voice_document_uuid'];
		$list = $browser->get('/app/voice_secretary/voice_documents.php')->form('form_list');
		$list['voice_documents[0][uuid]'] = $doc;
		$list['voice_documents[0][checked]'] = 'true';
		$list['action'] = 'delete';
		$browser->post('/app/voice_secretary/voice_documents.php', $list);
		$this->assertSame(200, Api::domain(env_or_fail('DOMAIN_A'), '/documents/'.$doc)[0]);
		//and B's lists never show A's rows
		$this->assertStringNotContainsString($rule, $browser->get('/app/voice_secretary/voice_transfer_rules.php')->body);
		$this->assertStringNotContainsString($doc, $browser->get('/app/voice_secretary/voice_documents.php')->body);
		$this->assertStringNotContainsString($calls['items'][0]['voice_conversation_uuid'], $browser->get('/app/voice_secretary/voice_conversations.php')->body);
	}

	public function test_destinations_list_only_the_domains_secretaries(): void {
		save_secretary((new Browser())->login(env_or_fail('DOMAIN_A'), env_or_fail('DOMAIN_A_NAME')), env_or_fail('SECRETARY_A'));
		save_secretary($this->intruder(), env_or_fail('SECRETARY_B'));
		$x = 0;
		$apps = [];
		include getenv('APP_DIR').'/app_config.php';
		$destination = $apps[0]['destinations'][0];
		$sql = $destination['sql'].' '.$destination['where'].' order by '.$destination['order_by'];
		foreach (['A' => env_or_fail('DOMAIN_A'), 'B' => env_or_fail('DOMAIN_B')] as $which => $domain) {
			$rows = database()->query(str_replace('${domain_uuid}', $domain, $sql))->fetchAll(PDO::FETCH_ASSOC);
			$this->assertSame([env_or_fail('SECRETARY_'.$which)], array_column($rows, 'uuid'), $which);
			$value = str_replace(['${destination}', '${context}'], [$rows[0]['destination'], $rows[0]['context']], $destination['select_value']['dialplan']);
			$this->assertSame('transfer:'.$rows[0]['destination'].' XML '.env_or_fail('DOMAIN_'.$which.'_NAME'), $value);
		}
	}
}
