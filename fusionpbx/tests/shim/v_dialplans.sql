-- FusionPBX 5.x v_dialplans (the columns the voice_secretary app and the destinations query use).
CREATE TABLE IF NOT EXISTS v_dialplans (
	domain_uuid uuid,
	dialplan_uuid uuid PRIMARY KEY,
	app_uuid uuid,
	hostname text,
	dialplan_context text,
	dialplan_name text,
	dialplan_number text,
	dialplan_destination text,
	dialplan_continue text,
	dialplan_xml text,
	dialplan_order numeric,
	dialplan_enabled boolean,
	dialplan_description text,
	insert_date timestamptz,
	insert_user uuid,
	update_date timestamptz,
	update_user uuid
);
