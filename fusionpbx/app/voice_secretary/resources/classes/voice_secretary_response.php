<?php
/**
 * One answer of the Voice AI Service: HTTP status, decoded JSON and, on failure, a message a person can act
 * on. Status 0 means the service could not be reached.
 */
class voice_secretary_response {

	public $status;
	public $data;
	public $error;

	public function __construct(int $status, $data, ?string $error = null) {
		if ($error === null && $status >= 200 && $status < 300 && $status !== 204 && !is_array($data)) {
			//a 2xx that is not our JSON: service_url points at something else
			$error = 'The Voice AI Service answered something that is not its API: check the voice_secretary service_url default setting.';
			$status = 0;
		}
		$this->status = $status;
		$this->data = $data;
		$this->error = $error;
	}

	public function ok(): bool {
		return $this->status >= 200 && $this->status < 300;
	}

	/** The items of a list answer (empty on failure). */
	public function items(): array {
		return $this->ok() && is_array($this->data['items'] ?? null) ? $this->data['items'] : [];
	}

	/**
	 * Field errors of a 422 answer: field => message, the field as its path in the body ("extension",
	 * "config.timeout_s"; a list item's error belongs to the list: "keywords"), '' for the body as a whole.
	 */
	public function field_errors(): array {
		$errors = [];
		if ($this->status === 422 && is_array($this->data) && isset($this->data['detail']) && is_array($this->data['detail'])) {
			foreach ($this->data['detail'] as $detail) {
				if (!is_array($detail)) {
					continue;
				}
				$loc = isset($detail['loc']) && is_array($detail['loc']) ? $detail['loc'] : [];
				if (count($loc) > 0 && in_array($loc[0], ['body', 'query', 'path'], true)) {
					array_shift($loc);
				}
				while (count($loc) > 0 && is_int(end($loc))) {
					array_pop($loc);
				}
				$field = implode('.', array_map('strval', $loc));
				$message = (string) ($detail['message'] ?? $detail['msg'] ?? 'invalid');
				$errors[$field] = isset($errors[$field]) ? $errors[$field].'; '.$message : $message;
			}
		}
		return $errors;
	}

	/** One line for message::add(). */
	public function message(): string {
		if ($this->error !== null) {
			return $this->error;
		}
		$fields = $this->field_errors();
		if (count($fields) > 0) {
			$parts = [];
			foreach ($fields as $field => $message) {
				$parts[] = ($field !== '' ? $field.': ' : '').$message;
			}
			return implode('; ', $parts);
		}
		if (is_array($this->data) && isset($this->data['detail']) && is_string($this->data['detail'])) {
			return $this->data['detail'];
		}
		return 'HTTP '.$this->status;
	}

}
