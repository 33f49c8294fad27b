<?php
/* Voice Secretary: one item under Applications; the other pages are reached from its action bar. */

	$y = 0;
	$apps[$x]['menu'][$y]['title']['en-us'] = 'Voice Secretary';
	$apps[$x]['menu'][$y]['title']['en-gb'] = 'Voice Secretary';
	$apps[$x]['menu'][$y]['title']['pt-br'] = 'Secretária Virtual';
	$apps[$x]['menu'][$y]['uuid'] = 'ed60c99f-fa1a-42b6-b6f5-ea7c3cd684d9';
	$apps[$x]['menu'][$y]['parent_uuid'] = 'fd29e39c-c936-f5fc-8e2b-611681b266b5';
	$apps[$x]['menu'][$y]['category'] = 'internal';
	$apps[$x]['menu'][$y]['icon'] = '';
	$apps[$x]['menu'][$y]['path'] = '/app/voice_secretary/voice_secretaries.php';
	$apps[$x]['menu'][$y]['order'] = '';
	$apps[$x]['menu'][$y]['groups'][] = 'superadmin';
	$apps[$x]['menu'][$y]['groups'][] = 'admin';
