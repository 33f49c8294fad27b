<?php
use PHPUnit\Framework\TestCase;

/** Transfer rules, documents, conversations and providers pages, against the real service. */
final class PagesTest extends TestCase {

	private function browser(): Browser {
		return (new Browser())->login(env_or_fail('DOMAIN_A'), env_or_fail('DOMAIN_A_NAME'));
	}

	public function test_transfer_rules_add_edit_delete(): void {
		$browser = $this->browser();
		$list = $browser->get('/app/voice_secretary/voice_transfer_rules.php');
		$this->assertStringContainsString('Financeiro', $list->body);
		$form = $browser->get('/app/voice_secretary/voice_transfer_rule_edit.php')->form('frm');
		$form['department_name'] = 'Jurídico';
		$form['destination_number'] = '205';
		$form['keywords'] = 'advogado, processo,  contrato ';
		$form['description'] = 'questões legais';
		$page = $browser->post('/app/voice_secretary/voice_transfer_rule_edit.php', $form);
		$this->assertSame(['Added'], $page->messages());
		[, $rules] = Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules?limit=200');
		$rule = array_values(array_filter($rules['items'], function ($r) { return $r['department_name'] === 'Jurídico'; }))[0];
		$this->assertSame(['advogado', 'processo', 'contrato'], $rule['keywords']);
		$this->assertSame('205', $rule['destination_number']);

		$id = $rule['voice_transfer_rule_uuid'];
		$form = $browser->get('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$id)->form('frm');
		$this->assertSame('advogado, processo, contrato', $form['keywords']);
		$form['destination_number'] = '205 XML evil';
		$page = $browser->post('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$id, $form);
		$this->assertNotSame('', $page->text("//span[@class='voice-secretary-error']"), 'the service refuses a destination that is not a dialplan token');
		$form['destination_number'] = '206';
		$browser->post('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$id, $form);
		$this->assertSame('206', Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules/'.$id)[1]['destination_number']);

		$fields = check_rows($browser->get('/app/voice_secretary/voice_transfer_rules.php')->form('form_list'), [$id]);
		$this->assertSame(['Deleted'], $browser->post('/app/voice_secretary/voice_transfer_rules.php', $fields)->messages());
		$this->assertSame(404, Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules/'.$id)[0]);
	}

	public function test_transfer_rule_ring_time_and_announced_transfer(): void {
		//issue 13, transfers that come back: the rule's ring time and announced transfer, saved through the service
		$browser = $this->browser();
		$form = $browser->get('/app/voice_secretary/voice_transfer_rule_edit.php')->form('frm');
		$this->assertSame('', $form['ring_seconds']);
		$this->assertSame('false', $form['announce']);
		$form['department_name'] = 'Plantão Fiscal';
		$form['destination_number'] = '207';
		$form['ring_seconds'] = '15';
		$form['announce'] = 'true';
		$this->assertSame(['Added'], $browser->post('/app/voice_secretary/voice_transfer_rule_edit.php', $form)->messages());
		[, $rules] = Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules?limit=200');
		$rule = array_values(array_filter($rules['items'], function ($r) { return $r['department_name'] === 'Plantão Fiscal'; }))[0];
		$this->assertSame([15, true], [$rule['ring_seconds'], $rule['announce']]);

		$id = $rule['voice_transfer_rule_uuid'];
		$form = $browser->get('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$id)->form('frm');
		$this->assertSame(['15', 'true'], [$form['ring_seconds'], $form['announce']]);
		$form['ring_seconds'] = '3';
		$page = $browser->post('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$id, $form);
		$this->assertNotSame('', $page->text("//span[@class='voice-secretary-error']"), 'a ring time under 5 s is refused by the service');
		$form['ring_seconds'] = '';
		$form['announce'] = 'false';
		$this->assertSame(['Updated'], $browser->post('/app/voice_secretary/voice_transfer_rule_edit.php?id='.$id, $form)->messages());
		$stored = Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules/'.$id)[1];
		$this->assertSame([null, false], [$stored['ring_seconds'], $stored['announce']]);
		Api::domain(env_or_fail('DOMAIN_A'), '/transfer-rules/'.$id, 'DELETE');
	}

	public function test_documents_upload_shows_status_and_bad_files_get_a_clear_error(): void {
		$browser = $this->browser();
		$page = $browser->get('/app/voice_secretary/voice_documents.php');
		$this->assertStringContainsString('empresa.md', $page->body);
		$file = tempnam(sys_get_temp_dir(), 'doc');
		file_put_contents($file, "# Estacionamento\n\nO escritório tem estacionamento gratuito para clientes na Rua das Flores, 120.\n");
		$form = $page->form('form_upload');
		$uploaded = $browser->post('/app/voice_secretary/voice_documents.php', $form, ['document' => [$file, 'estacionamento.md']]);
		$this->assertSame(['Document received: it is being indexed.'], $uploaded->messages());
		$this->assertStringContainsString('estacionamento.md', $uploaded->body);
		$status = $uploaded->text("//tr[td[text()='estacionamento.md']]/td[@class='document-status']");
		$this->assertMatchesRegularExpression('/^(Queued|Indexing|Ready)/', $status);

		//an empty file and a binary one are refused with the service's reason
		file_put_contents($file, '');
		$empty = $browser->post('/app/voice_secretary/voice_documents.php', $page->form('form_upload'), ['document' => [$file, 'vazio.txt']]);
		$this->assertCount(1, $empty->messages('negative'));
		$this->assertStringContainsString('empty', $empty->messages('negative')[0]);
		file_put_contents($file, "\x00\x01\x02\x03binary\xff\xfe");
		$binary = $browser->post('/app/voice_secretary/voice_documents.php', $page->form('form_upload'), ['document' => [$file, 'planilha.xls']]);
		$this->assertCount(1, $binary->messages('negative'));
		//no file at all
		$none = $browser->post('/app/voice_secretary/voice_documents.php', $page->form('form_upload'));
		$this->assertSame(['Choose a file to upload.'], $none->messages('negative'));
		unlink($file);
	}

	public function test_conversations_list_filters_and_transcript(): void {
		$domain = env_or_fail('DOMAIN_A');
		$call = 'php-test-'.bin2hex(random_bytes(6));
		Api::call('POST', '/api/v1/calls', ['domain_uuid' => $domain, 'secretary' => '8000', 'call_uuid' => $call, 'caller_id_number' => '+5541988887777']);
		$turn = curl_init(env_or_fail('SERVICE_URL').'/api/v1/calls/'.$call.'/turns');
		curl_setopt_array($turn, [CURLOPT_RETURNTRANSFER => true, CURLOPT_POSTFIELDS => ['domain_uuid' => $domain, 'text' => 'Quero falar com o financeiro']]);
		curl_exec($turn);
		curl_close($turn);
		Api::call('POST', '/api/v1/calls/'.$call.'/end', ['domain_uuid' => $domain, 'outcome' => 'transferred']);

		$browser = $this->browser();
		$page = $browser->get('/app/voice_secretary/voice_conversations.php?outcome=transferred&caller=988887777');
		$this->assertStringContainsString('+5541988887777', $page->body);
		$this->assertStringContainsString('Financeiro (203)', $page->text("//td[@class='conversation-outcome']"));
		$this->assertStringNotContainsString('+5541988887777', $browser->get('/app/voice_secretary/voice_conversations.php?outcome=resolved&caller=988887777')->body);
		$this->assertStringContainsString('+5541988887777', $browser->get('/app/voice_secretary/voice_conversations.php?from='.date('Y-m-d').'&to='.date('Y-m-d'))->body);

		preg_match("/voice_conversation_view.php\\?id=([0-9a-f-]{36})/", $page->body, $match);
		$view = $browser->get('/app/voice_secretary/voice_conversation_view.php?id='.$match[1]);
		$this->assertStringContainsString('Transferred', $view->text("//span[@id='conversation_outcome']"));
		$this->assertStringContainsString('Quero falar com o financeiro', $view->text("//table[@id='transcript']"));
		$this->assertMatchesRegularExpression('/total \d+ ms/', $view->text("//tr[contains(@class, 'message-assistant')][last()]/td[@class='message-timings']"));
		//deleting it (a caller's erasure request) removes it from the service
		$deleted = $browser->post('/app/voice_secretary/voice_conversation_view.php?id='.$match[1], $view->form('form_delete') + ['action' => 'delete']);
		$this->assertSame(['Deleted'], $deleted->messages());
		$this->assertSame(404, Api::domain($domain, '/conversations/'.$match[1])[0]);
		//nonsense filters are ignored, not passed on
		$this->assertSame(200, $browser->get("/app/voice_secretary/voice_conversations.php?outcome=%27%3Bdrop&from=yesterday&secretary=1%20or%201")->status);
	}

	public function test_providers_form_from_the_schema_with_write_only_secrets(): void {
		$browser = $this->browser();
		$pick = $browser->get('/app/voice_secretary/voice_provider_edit.php');
		$this->assertStringContainsString("value='llm:openai_compatible'", $pick->body);
		$page = $browser->get('/app/voice_secretary/voice_provider_edit.php?provider=llm:openai_compatible');
		$form = $page->form('frm');
		$this->assertArrayHasKey('config_base_url', $form);
		$this->assertArrayHasKey('config_api_key', $form);
		$form['config_base_url'] = 'http://127.0.0.1:9/v1';
		$form['config_model'] = 'local-model';
		$form['config_api_key'] = 'sk-very-secret-9876';
		$form['description'] = 'LLM local';
		$form['submit_action'] = 'save';
		$saved = $browser->post('/app/voice_secretary/voice_provider_edit.php', $form);
		$this->assertSame(['Added'], $saved->messages());
		$this->assertStringNotContainsString('sk-very-secret-9876', $saved->body);
		$this->assertSame('', $saved->form('frm')['config_api_key']);
		preg_match('/id=([0-9a-f-]{36})/', $saved->url, $match);
		$id = $match[1];
		[, $stored] = Api::domain(env_or_fail('DOMAIN_A'), '/providers/'.$id);
		$this->assertSame('local-model', $stored['config']['model']);
		$this->assertStringEndsWith('9876', $stored['config']['api_key']);
		$this->assertStringNotContainsString('very-secret', $stored['config']['api_key']);

		//saving without typing the secret keeps it; the test button reports the failure of a dead endpoint
		$form = $saved->form('frm');
		$form['config_model'] = 'other-model';
		$form['submit_action'] = 'save';
		$browser->post('/app/voice_secretary/voice_provider_edit.php?id='.$id, $form);
		[, $stored] = Api::domain(env_or_fail('DOMAIN_A'), '/providers/'.$id);
		$this->assertSame('other-model', $stored['config']['model']);
		$this->assertStringEndsWith('9876', $stored['config']['api_key']);
		$form['submit_action'] = 'test';
		$tested = $browser->post('/app/voice_secretary/voice_provider_edit.php?id='.$id, $form);
		$this->assertStringStartsWith('The provider failed', $tested->messages('negative')[0] ?? '');

		//a bad value is explained next to its field
		$form['config_timeout_s'] = '-5';
		$form['submit_action'] = 'save';
		$bad = $browser->post('/app/voice_secretary/voice_provider_edit.php?id='.$id, $form);
		$this->assertNotSame('', $bad->text("//span[@class='voice-secretary-error']"));
		$this->assertSame(204, Api::domain(env_or_fail('DOMAIN_A'), '/providers/'.$id, 'DELETE')[0]);
	}

	public function test_lists_look_like_fusionpbx_lists(): void {
		$browser = $this->browser();
		foreach (['voice_secretaries.php', 'voice_transfer_rules.php', 'voice_documents.php', 'voice_providers.php'] as $list) {
			$page = $browser->get('/app/voice_secretary/'.$list);
			$this->assertSame(1, $page->dom()->query("//form[@id='form_list']//input[@id='checkbox_all']")->length, $list.': select-all checkbox');
			if ($page->dom()->query("//tr[@class='list-row']")->length > 0) {
				$this->assertSame(1, $page->dom()->query("//div[@id='modal-delete' and contains(@class, 'modal-window')]")->length, $list.": FusionPBX's delete modal");
				$this->assertStringContainsString("modal_open('modal-delete'", $page->text("//div[@id='action_bar']//button[@id='btn_delete']/@onclick"), $list);
				$this->assertStringContainsString("list_action_set('delete')", $page->text("//div[@id='modal-delete']//button[@id='btn_delete']/@onclick"), $list);
			}
			$this->assertSame(1, $page->dom()->query("//div[@id='action_bar']//form[@id='form_search']//input[@name='search']")->length, $list.': search box in the action bar');
			$this->assertStringNotContainsString('confirm(', $page->body, $list);
		}
		$found = $browser->get('/app/voice_secretary/voice_secretaries.php?search=secret');
		$this->assertGreaterThan(0, $found->dom()->query("//tr[@class='list-row']")->length);
		$this->assertSame(0, $browser->get('/app/voice_secretary/voice_secretaries.php?search=zzz-nothing')->dom()->query("//tr[@class='list-row']")->length);
		$this->assertStringContainsString('width: 100%', $browser->get('/app/voice_secretary/voice_transfer_rule_edit.php')->text("//input[@name='keywords']/@style"), 'keywords field as wide as the description');
	}

	public function test_conversation_filters_are_labelled_and_paged_like_fusionpbx(): void {
		$domain = env_or_fail('DOMAIN_A');
		for ($i = 0; $i < 2; $i++) {
			$call = 'php-paging-'.bin2hex(random_bytes(6));
			Api::call('POST', '/api/v1/calls', ['domain_uuid' => $domain, 'secretary' => '8000', 'call_uuid' => $call, 'caller_id_number' => '+5541900000000']);
			Api::call('POST', '/api/v1/calls/'.$call.'/end', ['domain_uuid' => $domain, 'outcome' => 'abandoned']);
		}
		$browser = (new Browser())->login($domain, env_or_fail('DOMAIN_A_NAME'), 'all', ['paging' => '1']);
		$page = $browser->get('/app/voice_secretary/voice_conversations.php?caller=41900000000');
		$labels = [];
		foreach ($page->dom()->query("//form[@id='form_search']//div[@class='form_set']/div[@class='label']") as $node) {
			$labels[] = trim($node->textContent);
		}
		$this->assertSame(['Outcome', 'Secretary', 'Caller', 'Started'], $labels);
		$this->assertStringContainsString('From', $page->text("//div[@class='form_set'][div[@class='label' and normalize-space()='Started']]"));
		$this->assertSame(1, $page->dom()->query("//tr[@class='list-row']")->length, 'one row per page');
		$next = $page->dom()->query("//a[contains(@href, 'page=1')]")->item(0);
		$this->assertNotNull($next, 'a pager');
		$this->assertStringContainsString('caller=41900000000', $next->getAttribute('href'), 'the pager keeps the filters');
		$second = $browser->get('/app/voice_secretary/voice_conversations.php?page=1&caller=41900000000');
		$this->assertSame(1, $second->dom()->query("//tr[@class='list-row']")->length);
		$this->assertNotSame($page->text("//tr[@class='list-row']/td[1]/a/@href"), $second->text("//tr[@class='list-row']/td[1]/a/@href"));
	}

	public function test_documents_refresh_their_status_while_indexing(): void {
		$browser = $this->browser();
		$page = $browser->get('/app/voice_secretary/voice_documents.php');
		$file = tempnam(sys_get_temp_dir(), 'doc');
		file_put_contents($file, str_repeat("O escritório abre às 8h e fecha às 18h, de segunda a sexta.\n\n", 40));
		$uploaded = $browser->post('/app/voice_secretary/voice_documents.php', $page->form('form_upload'), ['document' => [$file, 'horario.txt']]);
		unlink($file);
		$status = $uploaded->text("//tr[td[text()='horario.txt']]/td[@class='document-status']");
		$indexing = preg_match('/^(Queued|Indexing)/', $status) === 1;
		$this->assertSame($indexing, strpos($uploaded->body, "voice_documents.php?format=json") !== false, 'the page polls while (and only while) a document is indexing: '.$status);
		$json = json_decode($browser->get('/app/voice_secretary/voice_documents.php?format=json')->body, true);
		$this->assertTrue($json['ok']);
		$this->assertNotEmpty($json['documents']);
		foreach ($json['documents'] as $doc) {
			$this->assertMatchesRegularExpression('/^(Queued|Indexing|Ready|Failed)/', $doc['status']);
			$this->assertIsBool($doc['indexing']);
		}
	}

	public function test_the_try_it_box_is_cards_and_shows_no_empty_one(): void {
		$page = $this->browser()->get('/app/voice_secretary/voice_secretary_edit.php?id='.env_or_fail('SECRETARY_A'));
		$this->assertSame(0, $page->dom()->query("//div[@id='try_transcript']")->length, 'no empty card before a question');
		$this->assertSame(1, $page->dom()->query("//form[@id='form_try']//div[@class='card']//input[@name='question']")->length, 'the question sits in a card');
	}

	public function test_portuguese_pages_translate_provider_settings_and_actions(): void {
		$browser = (new Browser())->login(env_or_fail('DOMAIN_A'), env_or_fail('DOMAIN_A_NAME'), 'all', ['language' => 'pt-br']);
		$page = $browser->get('/app/voice_secretary/voice_provider_edit.php?provider=llm:openai_compatible');
		$labels = [];
		foreach ($page->dom()->query("//form[@id='frm']//td[contains(@class, 'vncell')]") as $node) {
			$labels[] = trim($node->textContent);
		}
		foreach (['Tempo limite (segundos)', 'Novas tentativas', 'URL base', 'Chave de API', 'Modelo', 'Temperatura'] as $label) {
			$this->assertContains($label, $labels);
		}
		foreach (['Timeout S', 'Base Url', 'Api Key', 'Max Retries'] as $raw) {
			$this->assertNotContains($raw, $labels, 'raw schema title');
		}
		$this->assertStringContainsString('Por tentativa, em segundos.', $page->body);
		$this->assertStringContainsString('A URL /v1 do servidor.', $page->body, "this provider's own words, translated");
		//the try-it box and the transcript name the actions in Portuguese
		$id = env_or_fail('SECRETARY_A');
		$form = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.$id)->form('form_try');
		$form['question'] = 'Quero falar com o financeiro';
		$form['submit_action'] = 'try';
		$asked = $browser->post('/app/voice_secretary/voice_secretary_edit.php?id='.$id, $form);
		$this->assertStringStartsWith('Transferência', $asked->text("//span[@class='try-action']"));
		[, $calls] = Api::domain(env_or_fail('DOMAIN_A'), '/conversations?caller=try-it&limit=1');
		$view = $browser->get('/app/voice_secretary/voice_conversation_view.php?id='.$calls['items'][0]['voice_conversation_uuid']);
		$this->assertStringContainsString('Transferência', $view->text("//table[@id='transcript']"));
		$this->assertStringNotContainsString('transfer', $view->text("//table[@id='transcript']//tr[contains(@class, 'message-assistant')]/td[4]"));
	}
}
