import Foundation

/// Checks a JSON document against a JSON Schema: just the keywords deploy/schemas uses (type,
/// const, enum, pattern, minLength, minItems, required, properties, additionalProperties, items,
/// $ref to #/$defs, oneOf). Enough to hold real messages to the published contract in Swift; the
/// Python example validates with the full `jsonschema` implementation as well.
struct JSONSchemaCheck {
    let root: [String: Any]

    init(file: URL) throws {
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] else {
            throw TestFailure("\(file.path) is not a JSON object")
        }
        root = object
    }

    /// Every violation, as "path: reason"; empty when the document conforms.
    func violations(_ bytes: [UInt8]) -> [String] {
        do {
            let document = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            return check(document, against: root, path: "$")
        } catch {
            return ["$: not JSON (\(error))"]
        }
    }

    private func resolve(_ schema: [String: Any]) -> [String: Any] {
        guard let ref = schema["$ref"] as? String, ref.hasPrefix("#/$defs/"),
              let definitions = root["$defs"] as? [String: Any],
              let target = definitions[String(ref.dropFirst("#/$defs/".count))] as? [String: Any] else { return schema }
        var merged = resolve(target)
        for (key, value) in schema where key != "$ref" { merged[key] = value }
        return merged
    }

    private func typeName(_ value: Any) -> String {
        switch value {
        case is NSNull: return "null"
        case is String: return "string"
        case is Int, is Int64: return "integer"
        case let number as Double: return number.rounded() == number ? "integer" : "number"
        case let number as NSNumber: return number.doubleValue.rounded() == number.doubleValue ? "integer" : "number"
        case is Bool: return "boolean"
        case is [Any]: return "array"
        case is [String: Any]: return "object"
        default: return "unknown"
        }
    }

    private func check(_ value: Any, against raw: [String: Any], path: String) -> [String] {
        let schema = resolve(raw)
        var problems: [String] = []
        let actual = typeName(value)
        if let type = schema["type"] {
            let allowed = (type as? [String]) ?? [(type as? String) ?? ""]
            let ok = allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))
            if !ok { return ["\(path): is \(actual), expected \(allowed.joined(separator: " or "))"] }
        }
        if let constant = schema["const"] as? String, (value as? String) != constant {
            problems.append("\(path): is not \(constant)")
        }
        if let options = schema["enum"] as? [Any] {
            let text = value as? String
            if !options.contains(where: { ($0 as? String) == text && text != nil }) && !(value is NSNull && options.contains { $0 is NSNull }) {
                problems.append("\(path): \(value) is not one of \(options)")
            }
        }
        if let text = value as? String {
            if let minimum = schema["minLength"] as? Int, text.count < minimum { problems.append("\(path): shorter than \(minimum)") }
            if let pattern = schema["pattern"] as? String, text.range(of: pattern, options: .regularExpression) == nil {
                problems.append("\(path): '\(text)' does not match \(pattern)")
            }
        }
        if let array = value as? [Any] {
            if let minimum = schema["minItems"] as? Int, array.count < minimum { problems.append("\(path): fewer than \(minimum) items") }
            if let items = schema["items"] as? [String: Any] {
                for (index, item) in array.enumerated() { problems += check(item, against: items, path: "\(path)[\(index)]") }
            }
        }
        if let object = value as? [String: Any] {
            for key in (schema["required"] as? [String]) ?? [] where object[key] == nil {
                problems.append("\(path): missing \(key)")
            }
            let properties = (schema["properties"] as? [String: Any]) ?? [:]
            for (key, child) in object {
                if let childSchema = properties[key] as? [String: Any] {
                    problems += check(child, against: childSchema, path: "\(path).\(key)")
                } else if (schema["additionalProperties"] as? Bool) == false {
                    problems.append("\(path): unexpected property \(key)")
                }
            }
        }
        if let alternatives = schema["oneOf"] as? [[String: Any]] {
            let matching = alternatives.filter { check(value, against: $0, path: path).isEmpty }.count
            if matching != 1 { problems.append("\(path): matches \(matching) of the oneOf alternatives, not exactly one") }
        }
        return problems
    }
}
