--- JSON for the call flow: lua-cjson when the host has it (Debian `lua-cjson`), otherwise a small
--- pure-Lua codec good for the service's answers (objects, arrays, strings with \u escapes, numbers,
--- booleans, null). JSON null decodes to nil in both cases, so callers test `if x then`.
local M = {}

local ok_cjson, cjson = pcall(require, "cjson.safe")
if not ok_cjson then
  ok_cjson, cjson = pcall(require, "cjson")
end
if not ok_cjson then
  cjson = nil
end

local function strip_nulls(value, null)
  if value == null then
    return nil
  end
  if type(value) == "table" then
    for k, v in pairs(value) do
      value[k] = strip_nulls(v, null)
    end
  end
  return value
end

-- Encoder ------------------------------------------------------------------------------------------

local escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_array(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k <= 0 or k % 1 ~= 0 then
      return false
    end
    n = n + 1
  end
  for i = 1, n do
    if t[i] == nil then
      return false
    end
  end
  return true, n
end

local encode_value

local function encode_table(t, depth)
  if depth > 32 then
    error("json: nesting too deep")
  end
  local array, n = is_array(t)
  local out = {}
  if array and n > 0 then
    for i = 1, n do
      out[i] = encode_value(t[i], depth + 1)
    end
    return "[" .. table.concat(out, ",") .. "]"
  end
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then
      error("json: object keys must be strings")
    end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  for i, k in ipairs(keys) do
    out[i] = encode_string(k) .. ":" .. encode_value(t[k], depth + 1)
  end
  return "{" .. table.concat(out, ",") .. "}"
end

encode_value = function(v, depth)
  local kind = type(v)
  if v == nil then
    return "null"
  elseif kind == "boolean" then
    return tostring(v)
  elseif kind == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      error("json: cannot encode " .. tostring(v))
    end
    if math.type and math.type(v) == "integer" then
      return string.format("%d", v)
    end
    return string.format("%.14g", v)
  elseif kind == "string" then
    return encode_string(v)
  elseif kind == "table" then
    return encode_table(v, depth)
  end
  error("json: cannot encode a " .. kind)
end

-- Decoder ------------------------------------------------------------------------------------------

local function decode_error(str, pos, what)
  error({ json = string.format("json: %s at byte %d", what, pos), near = str:sub(pos, pos + 10) })
end

local function skip(str, pos)
  return str:find("[^ \t\r\n]", pos) or #str + 1
end

local function utf8_char(code)
  if utf8 and utf8.char then
    return utf8.char(code)
  end
  if code < 0x80 then
    return string.char(code)
  elseif code < 0x800 then
    return string.char(0xC0 + math.floor(code / 0x40), 0x80 + code % 0x40)
  elseif code < 0x10000 then
    return string.char(0xE0 + math.floor(code / 0x1000), 0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
  end
  return string.char(0xF0 + math.floor(code / 0x40000), 0x80 + math.floor(code / 0x1000) % 0x40,
    0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
end

local decode_at

local function decode_string(str, pos)
  local out, i = {}, pos + 1
  while true do
    local c = str:sub(i, i)
    if c == "" then
      decode_error(str, pos, "unterminated string")
    elseif c == '"' then
      return table.concat(out), i + 1
    elseif c == "\\" then
      local e = str:sub(i + 1, i + 1)
      local simple = ({ ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" })[e]
      if simple then
        out[#out + 1] = simple
        i = i + 2
      elseif e == "u" then
        local hex = str:match("^%x%x%x%x", i + 2)
        if not hex then
          decode_error(str, i, "bad \\u escape")
        end
        local code = tonumber(hex, 16)
        i = i + 6
        if code >= 0xD800 and code <= 0xDBFF then
          local low = str:match("^\\u(%x%x%x%x)", i)
          if low then
            code = 0x10000 + (code - 0xD800) * 0x400 + (tonumber(low, 16) - 0xDC00)
            i = i + 6
          end
        end
        out[#out + 1] = utf8_char(code)
      else
        decode_error(str, i, "bad escape")
      end
    elseif c:byte() < 0x20 then
      decode_error(str, i, "control character in string")
    else
      local j = str:find('["\\%c]', i) or #str + 1
      out[#out + 1] = str:sub(i, j - 1)
      i = j
    end
  end
end

local function decode_number(str, pos)
  local text = str:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  local value = text and tonumber(text)
  if not value then
    decode_error(str, pos, "bad number")
  end
  return value, pos + #text
end

local literals = { ["true"] = true, ["false"] = false }

decode_at = function(str, pos, depth)
  if depth > 64 then
    decode_error(str, pos, "nesting too deep")
  end
  pos = skip(str, pos)
  local c = str:sub(pos, pos)
  if c == "{" then
    local obj = {}
    pos = skip(str, pos + 1)
    if str:sub(pos, pos) == "}" then
      return obj, pos + 1
    end
    while true do
      if str:sub(pos, pos) ~= '"' then
        decode_error(str, pos, "expected a key")
      end
      local key
      key, pos = decode_string(str, pos)
      pos = skip(str, pos)
      if str:sub(pos, pos) ~= ":" then
        decode_error(str, pos, "expected ':'")
      end
      obj[key], pos = decode_at(str, pos + 1, depth + 1)
      pos = skip(str, pos)
      local sep = str:sub(pos, pos)
      if sep == "}" then
        return obj, pos + 1
      elseif sep ~= "," then
        decode_error(str, pos, "expected ',' or '}'")
      end
      pos = skip(str, pos + 1)
    end
  elseif c == "[" then
    local arr, n = {}, 0
    pos = skip(str, pos + 1)
    if str:sub(pos, pos) == "]" then
      return arr, pos + 1
    end
    while true do
      n = n + 1
      arr[n], pos = decode_at(str, pos, depth + 1)
      pos = skip(str, pos)
      local sep = str:sub(pos, pos)
      if sep == "]" then
        return arr, pos + 1
      elseif sep ~= "," then
        decode_error(str, pos, "expected ',' or ']'")
      end
      pos = pos + 1
    end
  elseif c == '"' then
    return decode_string(str, pos)
  elseif c == "-" or c:match("%d") then
    return decode_number(str, pos)
  end
  for word, value in pairs(literals) do
    if str:sub(pos, pos + #word - 1) == word then
      return value, pos + #word
    end
  end
  if str:sub(pos, pos + 3) == "null" then
    return nil, pos + 4
  end
  decode_error(str, pos, c == "" and "unexpected end" or "unexpected character")
end

local function pure_decode(str)
  if type(str) ~= "string" then
    return nil, "json: expected a string, got " .. type(str)
  end
  local ok, value, pos = pcall(decode_at, str, 1, 0)
  if not ok then
    return nil, type(value) == "table" and value.json or tostring(value)
  end
  if skip(str, pos) <= #str then
    return nil, string.format("json: trailing characters at byte %d", pos)
  end
  return value
end

local function pure_encode(value)
  local ok, text = pcall(encode_value, value, 0)
  if not ok then
    return nil, text
  end
  return text
end

--- The backend in use: "cjson" or "lua".
M.backend = cjson and "cjson" or "lua"

--- Encode a Lua value; returns text, or nil and an error.
function M.encode(value)
  if cjson then
    local ok, text = pcall(cjson.encode, value)
    if ok and text then
      return text
    end
    return nil, "json: " .. tostring(text)
  end
  return pure_encode(value)
end

--- Decode JSON text; returns the value (JSON null → nil), or nil and an error. Never raises.
function M.decode(text)
  if type(text) ~= "string" then
    return nil, "json: expected a string, got " .. type(text)
  end
  if cjson then
    local ok, value, err = pcall(cjson.decode, text)
    if not ok or (value == nil and err) then
      return nil, "json: " .. tostring(ok and err or value)
    end
    return strip_nulls(value, cjson.null)
  end
  return pure_decode(text)
end

--- The codec without lua-cjson (tests run the same specs through both).
M.pure = { encode = pure_encode, decode = pure_decode }

return M
