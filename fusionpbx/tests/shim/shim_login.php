<?php
// Test-only login: ?domain_uuid=&domain_name=&permissions=a,b|all&group=admin|superadmin&language=en-us
// &paging=N (the domain's rows per page) (&next=/app/...). "all": every permission app_config.php grants to the
// group (default admin).
require_once __DIR__.'/resources/require.php';
$_SESSION = [];
$_SESSION['authorized'] = true;
$_SESSION['domain_uuid'] = (string) ($_GET['domain_uuid'] ?? '');
$_SESSION['domain_name'] = (string) ($_GET['domain_name'] ?? '');
$_SESSION['user_uuid'] = '00000000-0000-4000-8000-00000000beef';
$_SESSION['domain']['language']['code'] = (string) ($_GET['language'] ?? 'en-us');
if (isset($_GET['paging']) && is_numeric($_GET['paging'])) {
	$_SESSION['shim_settings']['domain']['paging'] = (int) $_GET['paging'];
}
$permissions = (string) ($_GET['permissions'] ?? 'all');
if ($permissions === 'all') {
	$x = 0;
	$apps = [];
	include PROJECT_ROOT.'/app/voice_secretary/app_config.php';
	$group = (string) ($_GET['group'] ?? 'admin');
	foreach ($apps[0]['permissions'] as $permission) {
		if (in_array($group, $permission['groups'], true)) {
			$_SESSION['permissions'][$permission['name']] = true;
		}
	}
}
else {
	foreach (array_filter(explode(',', $permissions)) as $permission) {
		$_SESSION['permissions'][$permission] = true;
	}
}
$next = (string) ($_GET['next'] ?? '/app/voice_secretary/voice_secretaries.php');
header('Location: '.(str_starts_with($next, '/') ? $next : '/'));
