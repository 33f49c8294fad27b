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

	/** Field errors of a 422 answer: field name => message. */
	public function field_errors(): array {
		$errors = [];
		if ($this->status === 422 && is_array($this->data) && isset($this->data['detail']) && is_array($this->data['detail'])) {
			foreach ($this->data['detail'] as $detail) {
				if (!is_array($detail)) {
					continue;
				}
				$loc = isset($detail['loc']) && is_array($detail['loc']) ? $detail['loc'] : [];
				$field = count($loc) > 0 ? (string) end($loc) : '';
				$errors[$field] = (string) ($detail['message'] ?? $detail['msg'] ?? 'invalid');
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
