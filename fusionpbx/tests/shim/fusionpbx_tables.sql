-- The FusionPBX 5.x tables the voice_secretary app touches (the columns it and the destinations query use).
CREATE TABLE IF NOT EXISTS v_dialplans (
	domain_uuid uuid,
	dialplan_uuid uuid PRIMARY KEY,
	app_uuid uuid,
	hostname text,
	dialplan_context text,
	dialplan_name text,
	dialplan_number text,
	dialplan_destination boolean,
	dialplan_continue boolean,
	dialplan_xml text,
	dialplan_order numeric,
	dialplan_enabled boolean,
	dialplan_description text,
	insert_date timestamptz,
	insert_user uuid,
	update_date timestamptz,
	update_user uuid
);
CREATE TABLE IF NOT EXISTS v_dialplan_details (
	domain_uuid uuid,
	dialplan_uuid uuid,
	dialplan_detail_uuid uuid PRIMARY KEY,
	dialplan_detail_tag text,
	dialplan_detail_type text,
	dialplan_detail_data text,
	dialplan_detail_break text,
	dialplan_detail_inline text,
	dialplan_detail_group numeric,
	dialplan_detail_order numeric,
	dialplan_detail_enabled boolean,
	insert_date timestamptz,
	insert_user uuid,
	update_date timestamptz,
	update_user uuid
);
CREATE TABLE IF NOT EXISTS v_extensions (
	extension_uuid uuid PRIMARY KEY,
	domain_uuid uuid,
	extension text,
	number_alias text,
	user_context text,
	enabled boolean
);
CREATE TABLE IF NOT EXISTS v_default_settings (
	default_setting_uuid uuid PRIMARY KEY,
	app_uuid uuid,
	default_setting_category text,
	default_setting_subcategory text,
	default_setting_name text,
	default_setting_value text,
	default_setting_order numeric,
	default_setting_enabled boolean,
	default_setting_description text
);
