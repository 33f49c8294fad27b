<?php
use PHPUnit\Framework\TestCase;

/** The secretary's streaming settings (fields, dialplan) and its "Open console" button, against the real service. */
final class ConsoleTest extends TestCase {

	private function browser(array $extra = []): Browser {
		return (new Browser())->login(env_or_fail('DOMAIN_A'), env_or_fail('DOMAIN_A_NAME'), 'all', $extra);
	}

	private static function status(string $url): int {
		$curl = curl_init($url);
		curl_setopt_array($curl, [CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 30]);
		curl_exec($curl);
		$status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
		curl_close($curl);
		return $status;
	}

	private function edit_url(): string {
		return '/app/voice_secretary/voice_secretary_edit.php?id='.env_or_fail('SECRETARY_A');
	}

	public function test_the_streaming_fields_are_saved_and_stream_mode_is_written_into_the_dialplan(): void {
		$browser = $this->browser(['language' => 'pt-br']);
		$id = env_or_fail('SECRETARY_A');
		$page = $browser->get($this->edit_url());
		foreach (['Modo de chamada', 'Fim do turno (ms)', 'Interrupção', 'Mínimo para interromper (ms)'] as $label) {
			$this->assertSame(1, $page->dom()->query("//form[@id='frm']//td[@class='vncell' and normalize-space()='$label']")->length, $label);
		}
		$fields = $page->form('frm');
		$this->assertSame(['turn', '600', 'true', '300'], [$fields['call_mode'], $fields['end_of_turn_ms'], $fields['barge_in'], $fields['barge_in_min_ms']]);
		$this->assertSame(['turn', 'stream'], array_map(function ($node) { return $node->getAttribute('value'); }, iterator_to_array($page->dom()->query("//select[@id='call_mode']/option"))));
		$this->assertSame('Streaming', $page->text("//select[@id='call_mode']/option[@value='stream']"));

		$fields = ['call_mode' => 'stream', 'end_of_turn_ms' => '450', 'barge_in' => 'false', 'barge_in_min_ms' => '250', 'submit_action' => 'save'] + $fields;
		$saved = $browser->post($this->edit_url(), $fields);
		$this->assertSame(['Atualizado'], $saved->messages(), $saved->body);
		[, $secretary] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id);
		$this->assertSame(['stream', 450, false, 250], [$secretary['call_mode'], $secretary['end_of_turn_ms'], $secretary['barge_in'], $secretary['barge_in_min_ms']]);
		$shown = $saved->form('frm');
		$this->assertSame(['stream', '450', 'false', '250'], [$shown['call_mode'], $shown['end_of_turn_ms'], $shown['barge_in'], $shown['barge_in_min_ms']]);
		//the dialplan: voice_ai_mode=stream set right before the lua action, through the details and their XML
		$details = array_map(function ($d) { return array_slice($d, 0, 3); }, dialplan_details($id));
		$this->assertSame([['action', 'set', 'voice_ai_mode=stream'], ['action', 'lua', 'secretary_ai.lua '.$id]], array_slice($details, -2));
		$xml = database()->query("select dialplan_xml from v_dialplans where dialplan_uuid = '$id'")->fetchColumn();
		$this->assertMatchesRegularExpression('/application="set" data="voice_ai_mode=stream"[^>]*\/>\s*<action application="lua"/', (string) $xml);

		//out of range: the service's error next to the field, nothing saved
		$refused = $browser->post($this->edit_url(), ['end_of_turn_ms' => '50'] + $fields);
		$this->assertStringContainsString('200', $refused->text("//input[@id='end_of_turn_ms']/following-sibling::span[@class='voice-secretary-error']"));
		[, $secretary] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id);
		$this->assertSame(450, $secretary['end_of_turn_ms']);

		//back to turn by turn: the variable goes, the entry is the turn-based one again
		$fields = ['call_mode' => 'turn', 'end_of_turn_ms' => '600', 'barge_in' => 'true', 'barge_in_min_ms' => '300'] + $fields;
		$browser->post($this->edit_url(), $fields);
		$this->assertNotContains('voice_ai_mode=stream', array_column(dialplan_details($id), 2));
		[, $secretary] = Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id);
		$this->assertSame('turn', $secretary['call_mode']);
	}

	public function test_open_console_sends_the_browser_to_the_console_with_a_secretary_token(): void {
		$browser = $this->browser();
		$page = $browser->get($this->edit_url());
		$this->assertSame('Open console', $page->text("//button[@id='btn_console']"));
		$this->assertStringContainsString("getElementById('form_console').submit()", $page->dom()->query("//button[@id='btn_console']/@onclick")->item(0)->nodeValue);
		$this->assertSame('_blank', $page->dom()->query("//form[@id='form_console']/@target")->item(0)->nodeValue);
		$form = $page->form('form_console');
		$this->assertSame('console', $form['submit_action']);

		$console = $browser->post($this->edit_url(), $form);
		$service = rtrim(env_or_fail('SERVICE_URL'), '/');
		$this->assertStringStartsWith($service.'/console?token=', $console->url);
		$this->assertSame(200, $console->status);
		$this->assertStringContainsString('src="console/assets/console.js"', $console->body);
		parse_str((string) parse_url($console->url, PHP_URL_QUERY), $query);
		$token = (string) $query['token'];
		$this->assertGreaterThan(50, strlen($token));
		//the token is the service's, checked by it: damaged, it opens nothing
		$this->assertSame(200, self::status($service.'/console?token='.rawurlencode($token)));
		$this->assertSame(401, self::status($service.'/console?token='.rawurlencode(substr($token, 0, -4).'AAAA')));

		//without the page's CSRF token: no console
		$refused = $browser->post($this->edit_url(), ['submit_action' => 'console']);
		$this->assertStringNotContainsString('/console?token=', $refused->url);
	}

	public function test_the_console_url_setting_is_where_the_browser_goes(): void {
		$uuid = '6a1e2b3c-4d5e-4f60-8a71-92b3c4d5e6f7';
		$db = database();
		$db->prepare("insert into v_default_settings (default_setting_uuid, default_setting_category, default_setting_subcategory, default_setting_name, default_setting_value, default_setting_enabled) values (:uuid, 'voice_secretary', 'console_url', 'text', 'http://127.0.0.1:9/voice-ai/', true)")->execute([':uuid' => $uuid]);
		try {
			$browser = $this->browser();
			$form = $browser->get($this->edit_url())->form('form_console');
			$console = $browser->post($this->edit_url(), $form);
			$this->assertStringStartsWith('http://127.0.0.1:9/voice-ai/console?token=', $console->url);
		}
		finally {
			$db->prepare('delete from v_default_settings where default_setting_uuid = :uuid')->execute([':uuid' => $uuid]);
		}
	}

	public function test_another_tenants_secretary_gets_no_console(): void {
		$browser = (new Browser())->login(env_or_fail('DOMAIN_B'), env_or_fail('DOMAIN_B_NAME'));
		$own = $browser->get('/app/voice_secretary/voice_secretary_edit.php?id='.env_or_fail('SECRETARY_B'))->form('form_console');
		$page = $browser->post($this->edit_url(), $own);
		$this->assertStringNotContainsString('/console?token=', $page->url);
		$this->assertStringNotContainsString(env_or_fail('SECRETARY_A'), $page->url.$page->body);
	}
}
