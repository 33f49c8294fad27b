<?php
/*
 * Voice Secretary — FusionPBX app registration (read by Upgrade: App Defaults, Permissions, Menu).
 * Side-effect free: FusionPBX includes this file from many places (upgrade, destination selects).
 *
 * The app keeps no tables of its own: secretaries, rules, documents, providers and conversations belong
 * to the Voice AI Service and are managed through its admin API. The one FusionPBX row it writes is each
 * secretary's dialplan entry (v_dialplans, app_uuid below), which is also how secretaries are offered as
 * destinations.
 */

	$apps[$x]['name'] = 'Voice Secretary';
	$apps[$x]['uuid'] = '545f45a5-0c17-4257-9d1d-275fc5f5aaf9';
	$apps[$x]['category'] = 'Switch';
	$apps[$x]['subcategory'] = '';
	$apps[$x]['version'] = '1.0';
	$apps[$x]['license'] = 'MIT';
	$apps[$x]['url'] = '';
	$apps[$x]['description']['en-us'] = 'AI virtual secretary: answers calls from the company documents and transfers to the right extension.';
	$apps[$x]['description']['en-gb'] = $apps[$x]['description']['en-us'];
	$apps[$x]['description']['pt-br'] = 'Secretária virtual com IA: atende ligações com base nos documentos da empresa e transfere para o ramal certo.';

	//permissions (written out: this file is included at global scope, it must not leave variables behind)
	$y = 0;
	$apps[$x]['permissions'][$y]['name'] = 'voice_secretary_view';
	$apps[$x]['permissions'][$y]['menu']['uuid'] = 'ed60c99f-fa1a-42b6-b6f5-ea7c3cd684d9';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_secretary_add';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_secretary_edit';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_secretary_delete';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_transfer_rule_view';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_transfer_rule_add';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_transfer_rule_edit';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_transfer_rule_delete';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_document_view';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_document_add';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_document_edit';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_document_delete';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_conversation_view';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_conversation_delete';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	//issue 13: mark a message a caller left read or unread (viewing the call log does not allow it)
	$apps[$x]['permissions'][$y]['name'] = 'voice_caller_message_edit';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_provider_view';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_provider_add';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_provider_edit';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_provider_delete';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	//tools (issue 13): the tenant's HTTP tools the LLM may call
	$apps[$x]['permissions'][$y]['name'] = 'voice_tool_view';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_tool_add';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_tool_edit';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_tool_delete';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	//offer secretaries in the destination selects (inbound routes, IVR options, time conditions)
	$apps[$x]['permissions'][$y]['name'] = 'voice_secretary_destinations';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	//transfers to another dialplan context than the domain's own (another tenant's, public): superadmin only
	$apps[$x]['permissions'][$y]['name'] = 'voice_secretary_context';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$y++;
	//opening hours (issue 13): the schedules secretaries and transfer rules may follow
	$apps[$x]['permissions'][$y]['name'] = 'voice_schedule_view';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_schedule_add';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_schedule_edit';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;
	$apps[$x]['permissions'][$y]['name'] = 'voice_schedule_delete';
	$apps[$x]['permissions'][$y]['groups'][] = 'superadmin';
	$apps[$x]['permissions'][$y]['groups'][] = 'admin';
	$y++;

	//default settings (global only: the app never reads domain or user overrides of these): where the Voice AI
	//Service listens (loopback by default) and its API token (named *_key so Default Settings masks it)
	$y = 0;
	$apps[$x]['default_settings'][$y]['default_setting_uuid'] = '231c7733-67eb-425c-832b-d9c324ff0f0a';
	$apps[$x]['default_settings'][$y]['default_setting_category'] = 'voice_secretary';
	$apps[$x]['default_settings'][$y]['default_setting_subcategory'] = 'service_url';
	$apps[$x]['default_settings'][$y]['default_setting_name'] = 'text';
	$apps[$x]['default_settings'][$y]['default_setting_value'] = 'http://127.0.0.1:8100';
	$apps[$x]['default_settings'][$y]['default_setting_enabled'] = 'true';
	$apps[$x]['default_settings'][$y]['default_setting_description'] = 'Base URL of the Voice AI Service admin API.';
	$y++;
	$apps[$x]['default_settings'][$y]['default_setting_uuid'] = 'b3d6fb30-85fd-465f-b964-983b66e96796';
	$apps[$x]['default_settings'][$y]['default_setting_category'] = 'voice_secretary';
	$apps[$x]['default_settings'][$y]['default_setting_subcategory'] = 'api_key';
	$apps[$x]['default_settings'][$y]['default_setting_name'] = 'text';
	$apps[$x]['default_settings'][$y]['default_setting_value'] = '';
	$apps[$x]['default_settings'][$y]['default_setting_enabled'] = 'false';
	$apps[$x]['default_settings'][$y]['default_setting_description'] = 'The service\'s VOICE_AI_API_TOKEN, when it has one (enable this setting and set the value).';
	$y++;
	$apps[$x]['default_settings'][$y]['default_setting_uuid'] = '446dd538-b156-4799-8451-7881c1b0f089';
	$apps[$x]['default_settings'][$y]['default_setting_category'] = 'voice_secretary';
	$apps[$x]['default_settings'][$y]['default_setting_subcategory'] = 'timeout';
	$apps[$x]['default_settings'][$y]['default_setting_name'] = 'numeric';
	$apps[$x]['default_settings'][$y]['default_setting_value'] = '30';
	$apps[$x]['default_settings'][$y]['default_setting_enabled'] = 'true';
	$apps[$x]['default_settings'][$y]['default_setting_description'] = 'Seconds to wait for the service (uploads and the try-it box included).';
	$y++;
	//the browser console (Open console on a secretary's page) is opened by the admin's browser, which cannot reach the
	//service's loopback address: its public base URL, e.g. https://pbx.example.com/voice-ai behind the web server
	$apps[$x]['default_settings'][$y]['default_setting_uuid'] = '5f0b8a52-6a1e-4c1d-9c43-2f7d0b6e3a91';
	$apps[$x]['default_settings'][$y]['default_setting_category'] = 'voice_secretary';
	$apps[$x]['default_settings'][$y]['default_setting_subcategory'] = 'console_url';
	$apps[$x]['default_settings'][$y]['default_setting_name'] = 'text';
	$apps[$x]['default_settings'][$y]['default_setting_value'] = '';
	$apps[$x]['default_settings'][$y]['default_setting_enabled'] = 'false';
	$apps[$x]['default_settings'][$y]['default_setting_description'] = 'Base URL of the Voice AI Service as the admin\'s browser reaches it, for the secretary console (e.g. https://pbx.example.com/voice-ai through the web server; see docs/streaming.md). Unset: service_url.';
	$y++;

	//destinations: the dialplan rows this app writes for its secretaries (one per secretary extension), labelled
	//with the secretary's name (the description: the entry's own name has no spaces, as Dialplan Manager keeps names)
	$y = 0;
	$apps[$x]['destinations'][$y]['type'] = 'sql';
	$apps[$x]['destinations'][$y]['label'] = 'voice_secretary';
	$apps[$x]['destinations'][$y]['name'] = 'voice_secretary';
	$apps[$x]['destinations'][$y]['sql'] = "select dialplan_uuid as uuid, coalesce(nullif(dialplan_description, ''), dialplan_name) as name, dialplan_number as destination, dialplan_number as extension, dialplan_context as context, dialplan_description as description from v_dialplans ";
	$apps[$x]['destinations'][$y]['where'] = "where domain_uuid = '\${domain_uuid}' and app_uuid = '545f45a5-0c17-4257-9d1d-275fc5f5aaf9' and cast(dialplan_enabled as text) = 'true' ";
	$apps[$x]['destinations'][$y]['order_by'] = 'dialplan_number asc';
	$apps[$x]['destinations'][$y]['field']['uuid'] = 'uuid';
	$apps[$x]['destinations'][$y]['field']['name'] = 'name';
	$apps[$x]['destinations'][$y]['field']['destination'] = 'destination';
	$apps[$x]['destinations'][$y]['field']['extension'] = 'extension';
	$apps[$x]['destinations'][$y]['field']['context'] = 'context';
	$apps[$x]['destinations'][$y]['field']['description'] = 'description';
	$apps[$x]['destinations'][$y]['select_value']['dialplan'] = "transfer:\${destination} XML \${context}";
	$apps[$x]['destinations'][$y]['select_value']['ivr'] = "menu-exec-app:transfer \${destination} XML \${context}";
	$apps[$x]['destinations'][$y]['select_label'] = "\${destination} \${name}";
