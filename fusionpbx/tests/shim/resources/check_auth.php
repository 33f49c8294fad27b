<?php
// Shim of FusionPBX's check_auth.php: no authorized session → the login page.
if (empty($_SESSION['authorized'])) {
	header('Location: '.PROJECT_PATH.'/shim_login.php');
	exit;
}
$domain_uuid = $_SESSION['domain_uuid'];
$domain_name = $_SESSION['domain_name'];
$user_uuid = $_SESSION['user_uuid'] ?? null;
