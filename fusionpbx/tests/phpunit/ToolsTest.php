<?php
use PHPUnit\Framework\TestCase;

/** The tools pages (issue 13): add, edit with write-only header values, errors next to their field, delete, and
 *  another tenant's tool not found — against the real service. */
final class ToolsTest extends TestCase {

	private const SECRET = 'tool-secret-value-98765';

	private function browser(string $domain = 'A'): Browser {
		return (new Browser())->login(env_or_fail('DOMAIN_'.$domain), env_or_fail('DOMAIN_'.$domain.'_NAME'));
	}

	private function add_tool(Browser $browser, string $name): array {
		$form = $browser->get('/app/voice_secretary/voice_tool_edit.php')->form('frm');
		$form['name'] = $name;
		$form['description'] = 'Consulta o status de um pedido pelo número.';
		$form['url'] = 'https://erp.example.com/orders/{order}';
		$form['parameters'] = '{"type": "object", "properties": {"order": {"type": "string"}}, "required": ["order"]}';
		$form['headers'] = "X-Api-Key: ".self::SECRET."\nAccept-Language: pt-BR";
		$page = $browser->post('/app/voice_secretary/voice_tool_edit.php', $form);
		$this->assertSame(['Added'], $page->messages(), substr($page->body, 0, 2000));
		[, $tools] = Api::domain(env_or_fail('DOMAIN_A'), '/tools?limit=200');
		return array_values(array_filter($tools['items'], function ($t) use ($name) { return $t['name'] === $name; }))[0];
	}

	public function test_tools_add_edit_with_write_only_headers_and_delete(): void {
		$browser = $this->browser();
		$tool = $this->add_tool($browser, 'order_status_'.bin2hex(random_bytes(3)));
		$this->assertSame('GET', $tool['method']);
		$this->assertSame(['order'], $tool['parameters']['required']);
		$this->assertStringNotContainsString(self::SECRET, json_encode($tool));
		$mask = $tool['headers']['X-Api-Key'];
		$id = $tool['voice_tool_uuid'];

		$list = $browser->get('/app/voice_secretary/voice_tools.php');
		$this->assertStringContainsString($tool['name'], $list->body);
		$edit = $browser->get('/app/voice_secretary/voice_tool_edit.php?id='.$id);
		$this->assertStringNotContainsString(self::SECRET, $edit->body, 'a header value is never shown');
		$form = $edit->form('frm');
		$this->assertStringContainsString('X-Api-Key: '.$mask, $form['headers']);
		//saving with the mask unchanged and one header dropped keeps the secret and removes the other header
		$form['headers'] = 'X-Api-Key: '.$mask;
		$form['method'] = 'POST';
		$this->assertSame(['Updated'], $browser->post('/app/voice_secretary/voice_tool_edit.php?id='.$id, $form)->messages());
		[, $saved] = Api::domain(env_or_fail('DOMAIN_A'), '/tools/'.$id);
		$this->assertSame(['X-Api-Key' => $mask], $saved['headers'], 'the same secret (its mask), the other header gone');
		$this->assertSame('POST', $saved['method']);
		//a schema with an empty object survives the form both ways ({} is not sent as [])
		$form = $browser->get('/app/voice_secretary/voice_tool_edit.php?id='.$id)->form('frm');
		$form['url'] = 'https://erp.example.com/orders';
		$form['parameters'] = '{"type": "object", "properties": {}}';
		$this->assertSame(['Updated'], $browser->post('/app/voice_secretary/voice_tool_edit.php?id='.$id, $form)->messages());
		$form = $browser->get('/app/voice_secretary/voice_tool_edit.php?id='.$id)->form('frm');
		$this->assertSame(['Updated'], $browser->post('/app/voice_secretary/voice_tool_edit.php?id='.$id, $form)->messages());
		$this->assertStringContainsString('"properties": {}', $form['parameters']);

		$fields = check_rows($browser->get('/app/voice_secretary/voice_tools.php')->form('form_list'), [$id]);
		$this->assertSame(['Deleted'], $browser->post('/app/voice_secretary/voice_tools.php', $fields)->messages());
		$this->assertSame(404, Api::domain(env_or_fail('DOMAIN_A'), '/tools/'.$id)[0]);
	}

	public function test_errors_are_shown_next_to_their_field_and_nothing_is_lost(): void {
		$browser = $this->browser();
		$form = $browser->get('/app/voice_secretary/voice_tool_edit.php')->form('frm');
		$form['name'] = 'lookup';
		$form['description'] = 'Procura.';
		$form['url'] = 'https://erp.example.com/x';
		$form['parameters'] = '{not json';
		$page = $browser->post('/app/voice_secretary/voice_tool_edit.php', $form);
		$this->assertSame('The parameters are not valid JSON.', $page->text("//span[@class='voice-secretary-error']"));
		$this->assertSame('{not json', $page->form('frm')['parameters'], 'what was typed is kept');
		$form['parameters'] = '{"type": "object", "properties": {}}';
		$form['url'] = 'https://erp.example.com/orders/{order}';
		$page = $browser->post('/app/voice_secretary/voice_tool_edit.php', $form);
		$this->assertStringContainsString('{order}', $page->text("//span[@class='voice-secretary-error']"), 'the service names the URL');
	}

	public function test_the_test_button_calls_the_saved_tool_and_shows_the_outcome(): void {
		$browser = $this->browser();
		$tool = $this->add_tool($browser, 'tried_'.bin2hex(random_bytes(3)));
		$id = $tool['voice_tool_uuid'];
		Api::domain(env_or_fail('DOMAIN_A'), '/tools/'.$id, 'PATCH', ['url' => 'http://127.0.0.1:9/orders/{order}']);
		$form = $browser->get('/app/voice_secretary/voice_tool_edit.php?id='.$id)->form('frm');
		$form['submit_action'] = 'test';
		$form['test_arguments'] = '{"order": "123"}';
		$page = $browser->post('/app/voice_secretary/voice_tool_edit.php?id='.$id, $form);
		//the service's address policy: loopback is not a public address (nothing allowed in this installation)
		$this->assertCount(1, $page->messages('negative'));
		$this->assertStringContainsString('non-public', $page->messages('negative')[0]);
		$this->assertSame('{"order": "123"}', $page->form('frm')['test_arguments'], 'the arguments stay for another try');
		$form['test_arguments'] = '[1, 2';
		$page = $browser->post('/app/voice_secretary/voice_tool_edit.php?id='.$id, $form);
		$this->assertSame('The test arguments are not a JSON object.', $page->text("//span[@class='voice-secretary-error']"));
		$form['test_arguments'] = '{"order": 5}';
		$page = $browser->post('/app/voice_secretary/voice_tool_edit.php?id='.$id, $form);
		$this->assertStringContainsString('not of type', $page->text("//span[@class='voice-secretary-error']"), 'the schema names the argument');
		Api::domain(env_or_fail('DOMAIN_A'), '/tools/'.$id, 'DELETE');
	}

	public function test_another_tenants_tool_is_not_found(): void {
		$tool = $this->add_tool($this->browser(), 'a_only_'.bin2hex(random_bytes(3)));
		$intruder = $this->browser('B');
		$this->assertSame(['Not found.'], $intruder->get('/app/voice_secretary/voice_tool_edit.php?id='.$tool['voice_tool_uuid'])->messages('negative'));
		$this->assertStringNotContainsString($tool['voice_tool_uuid'], $intruder->get('/app/voice_secretary/voice_tools.php')->body);
		Api::domain(env_or_fail('DOMAIN_A'), '/tools/'.$tool['voice_tool_uuid'], 'DELETE');
	}
}
