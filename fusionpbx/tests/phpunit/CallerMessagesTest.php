<?php
use PHPUnit\Framework\TestCase;

/** Issue 13: a message a caller left, in the call log (the list's marker, the conversation's card), marked read. */
final class CallerMessagesTest extends TestCase {

	private function say(string $domain, string $call, string $text): array {
		$turn = curl_init(env_or_fail('SERVICE_URL').'/api/v1/calls/'.$call.'/turns');
		curl_setopt_array($turn, [CURLOPT_RETURNTRANSFER => true, CURLOPT_POSTFIELDS => ['domain_uuid' => $domain, 'text' => $text]]);
		$body = (string) curl_exec($turn);
		curl_close($turn);
		return (array) json_decode($body, true);
	}

	public function test_a_message_left_is_marked_in_the_call_log_and_can_be_marked_read(): void {
		$domain = env_or_fail('DOMAIN_A');
		$call = 'php-message-'.bin2hex(random_bytes(6));
		Api::call('POST', '/api/v1/calls', ['domain_uuid' => $domain, 'secretary' => '8000', 'call_uuid' => $call, 'caller_id_number' => '+5541977776666']);
		foreach (['Quero deixar um recado', 'Paula Souza', 'sim', 'Por favor me ligue amanhã cedo', 'Está correto'] as $said) {
			$reply = $this->say($domain, $call, $said);
		}
		$this->assertStringContainsString('recado foi anotado', $reply['response_text'] ?? '');

		$browser = (new Browser())->login($domain, env_or_fail('DOMAIN_A_NAME'));
		$list = $browser->get('/app/voice_secretary/voice_conversations.php?caller=977776666');
		$this->assertSame(1, $list->dom()->query("//span[contains(@class, 'caller-message-marker')]")->length);
		$this->assertSame(0, $browser->get('/app/voice_secretary/voice_conversations.php?caller=988887777')->dom()->query("//span[contains(@class, 'caller-message-marker')]")->length);

		preg_match("/voice_conversation_view.php\\?id=([0-9a-f-]{36})/", $list->body, $match);
		$url = '/app/voice_secretary/voice_conversation_view.php?id='.$match[1];
		$view = $browser->get($url);
		$this->assertStringContainsString('Paula Souza', $view->text("//table[@id='caller_messages']"));
		$this->assertStringContainsString('5541977776666', $view->text("//table[@id='caller_messages']"));
		$this->assertSame('Por favor me ligue amanhã cedo', $view->text("//td[@class='caller-message-body']"));
		$this->assertSame('New', $view->text("//td[@class='caller-message-status']"));

		[, $left] = Api::domain($domain, '/caller-messages?conversation_uuid='.$match[1]);
		$id = $left['items'][0]['voice_caller_message_uuid'];
		$marked = $browser->post($url, $view->form('form_mark_read_'.$id) + ['action' => 'mark_read']);
		$this->assertSame(['Message updated'], $marked->messages());
		$this->assertSame('Read', $marked->text("//td[@class='caller-message-status']"));
		$this->assertSame('read', Api::domain($domain, '/caller-messages/'.$id)[1]['status']);
		//a forged id of another tenant's message changes nothing there
		$this->assertSame(404, Api::domain(env_or_fail('DOMAIN_B'), '/caller-messages/'.$id)[0]);

		//viewing the call log does not allow marking: no button, and a forged post (with a valid token) is refused
		$viewer = (new Browser())->login($domain, env_or_fail('DOMAIN_A_NAME'), 'voice_conversation_view');
		$seen = $viewer->get($url);
		$this->assertStringContainsString('Paula Souza', $seen->text("//table[@id='caller_messages']"));
		$this->assertSame(0, $seen->dom()->query("//form[starts-with(@id, 'form_mark_')]")->length);
		$forged = $viewer->post($url, $seen->form('form_delete') + ['action' => 'mark_unread', 'caller_message_uuid' => $id]);
		$this->assertStringContainsString('access denied', $forged->body);
		$this->assertSame('read', Api::domain($domain, '/caller-messages/'.$id)[1]['status']);

		//in Portuguese
		$pt = (new Browser())->login($domain, env_or_fail('DOMAIN_A_NAME'), 'all', ['language' => 'pt-br']);
		$this->assertStringContainsString('Recados deixados', $pt->get($url)->body);
		$this->assertSame('Lido', $pt->get($url)->text("//td[@class='caller-message-status']"));
	}

	public function test_the_secretary_page_sets_who_receives_messages_by_email(): void {
		$id = env_or_fail('SECRETARY_A');
		$browser = (new Browser())->login(env_or_fail('DOMAIN_A'), env_or_fail('DOMAIN_A_NAME'));
		$url = '/app/voice_secretary/voice_secretary_edit.php?id='.$id;
		$form = $browser->get($url)->form('frm');
		$form['message_email'] = 'recepcao@example.com, carlos@example.com';
		$form['submit_action'] = 'save';
		$browser->post($url, $form);
		$this->assertSame('recepcao@example.com, carlos@example.com', Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id)[1]['message_email']);
		//a line break (a header smuggled into the e-mail) is refused next to the field, nothing saved
		$form['message_email'] = "recepcao@example.com\r\nBcc: spy@example.com";
		$page = $browser->post($url, $form);
		$this->assertGreaterThan(0, $page->dom()->query("//*[contains(@class, 'voice-secretary-error')]")->length);
		$this->assertSame('recepcao@example.com, carlos@example.com', Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id)[1]['message_email']);
		//emptied: no e-mail
		$form['message_email'] = '';
		$browser->post($url, $form);
		$this->assertNull(Api::domain(env_or_fail('DOMAIN_A'), '/secretaries/'.$id)[1]['message_email']);
	}
}
