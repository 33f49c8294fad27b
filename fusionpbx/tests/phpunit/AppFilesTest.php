<?php
use PHPUnit\Framework\TestCase;

/** The registration files follow FusionPBX's conventions and the texts cover every page in both languages. */
final class AppFilesTest extends TestCase {

	private function app(): array {
		$x = 0;
		$apps = [];
		include getenv('APP_DIR').'/app_config.php';
		include getenv('APP_DIR').'/app_menu.php';
		return $apps[0];
	}

	public function test_app_config_declares_permissions_settings_and_destinations(): void {
		$app = $this->app();
		$this->assertSame('545f45a5-0c17-4257-9d1d-275fc5f5aaf9', $app['uuid']);
		$names = array_column($app['permissions'], 'name');
		foreach (['voice_secretary', 'voice_transfer_rule', 'voice_provider'] as $entity) {
			foreach (['view', 'add', 'edit', 'delete'] as $action) {
				$this->assertContains($entity.'_'.$action, $names);
			}
		}
		$this->assertContains('voice_secretary_destinations', $names);
		foreach (['voice_document_view', 'voice_document_add', 'voice_document_edit', 'voice_document_delete', 'voice_conversation_view', 'voice_conversation_delete'] as $name) {
			$this->assertContains($name, $names);
		}
		foreach ($app['permissions'] as $permission) {
			$groups = $permission['name'] === 'voice_secretary_context' ? ['superadmin'] : ['superadmin', 'admin'];
			$this->assertSame($groups, $permission['groups'], $permission['name']);
		}
		foreach ($app['default_settings'] as $setting) {
			$this->assertSame('voice_secretary', $setting['default_setting_category']);
			$this->assertMatchesRegularExpression('/^[0-9a-f-]{36}$/', $setting['default_setting_uuid']);
		}
		$this->assertSame(['service_url', 'api_key', 'timeout', 'console_url'], array_column($app['default_settings'], 'default_setting_subcategory'));
		$this->assertSame('fd29e39c-c936-f5fc-8e2b-611681b266b5', $app['menu'][0]['parent_uuid']);
		$this->assertSame($app['menu'][0]['uuid'], $app['permissions'][0]['menu']['uuid']);
		$this->assertSame('voice_secretary', $app['destinations'][0]['name']);
	}

	public function test_app_config_leaves_no_variables_behind(): void {
		$before = array_keys(get_defined_vars());
		$x = 0;
		$apps = [];
		include getenv('APP_DIR').'/app_config.php';
		$this->assertSame([], array_values(array_diff(array_keys(get_defined_vars()), $before, ['x', 'apps', 'y', 'before'])));
	}

	public function test_messages_from_outside_are_escaped_for_fusionpbx(): void {
		require_once getenv('APP_DIR').'/resources/classes/voice_secretary_response.php';
		require_once getenv('APP_DIR').'/resources/classes/voice_secretary_ui.php';
		if (!class_exists('message')) {
			eval('class message { public static $added = []; public static function add($m, $mood = "positive") { self::$added[] = [$m, $mood]; } }');
		}
		message::$added = [];
		voice_secretary_ui::fail(new voice_secretary_response(502, ['detail' => '</script><img src=x onerror=alert(1)>']));
		voice_secretary_ui::fail(new voice_secretary_response(422, ['detail' => [['loc' => ['body', '<b>'], 'message' => '<i>bad</i>']]]));
		$this->assertStringNotContainsString('<', message::$added[0][0].message::$added[1][0]);
		$this->assertSame('negative', message::$added[0][1]);
		$this->assertStringContainsString('&lt;i&gt;bad&lt;/i&gt;', message::$added[1][0]);
	}

	public function test_no_page_asks_with_the_browsers_confirm(): void {
		foreach (glob(getenv('APP_DIR').'/*.php') as $file) {
			$this->assertStringNotContainsString('confirm(', file_get_contents($file), basename($file).": FusionPBX's modal, not confirm()");
		}
	}

	public function test_every_text_used_exists_in_english_and_portuguese(): void {
		$text = [];
		include getenv('APP_DIR').'/app_languages.php';
		foreach ($text as $key => $languages) {
			$this->assertNotSame('', $languages['en-us'] ?? '', $key);
			$this->assertNotSame('', $languages['pt-br'] ?? '', $key);
		}
		$used = [];
		foreach (array_merge(glob(getenv('APP_DIR').'/*.php'), glob(getenv('APP_DIR').'/resources/classes/*.php')) as $file) {
			preg_match_all("/\\\$text\\['([a-z_-]+)'\\]/", file_get_contents($file), $matches);
			$used = array_merge($used, $matches[1]);
		}
		$dynamic = ['label-provider_stt', 'label-provider_tts', 'label-provider_llm', 'label-provider_embeddings', 'option-type_stt',
			'option-status_ready', 'option-outcome_transferred', 'message-add', 'message-update', 'message-reindex', 'label-status',
			'label-turn', 'label-who', 'label-timings', 'label-voice_secretary', 'message-context', 'message-extension_taken',
			'option-action_continue', 'option-action_transfer', 'option-action_hangup', 'label-config_timeout_s', 'label-config_base_url',
			'label-config_api_key', 'description-config_timeout_s'];
		foreach (array_unique(array_merge($used, $dynamic)) as $key) {
			$this->assertArrayHasKey($key, $text, $key);
		}
	}
}
