import protobuf from 'protobufjs';
import { UsageError } from './headers.js';

export type MethodName = { service: string; method: string };

/** `pkg.Service/Method`, `pkg.Service.Method`, `/pkg.Service/Method` or `Service.Method` (no package). */
export function parseMethodName(text: string): MethodName {
  const s = text.replace(/^[/.]/, '');
  const slash = s.lastIndexOf('/');
  const cut = slash >= 0 ? slash : s.lastIndexOf('.');
  const service = s.slice(0, Math.max(cut, 0));
  const method = s.slice(cut + 1);
  if (cut <= 0 || !method || !/^[A-Za-z_][\w.]*$/.test(service) || !/^[A-Za-z_]\w*$/.test(method))
    throw new UsageError(`"${text}" is not a gRPC method: write Service.Method, package.Service.Method or package.Service/Method`);
  return { service, method };
}

export type ResolvedMethod = {
  /** The HTTP/2 :path, /package.Service/Method. */
  path: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
  requestStream: boolean;
  responseStream: boolean;
};

export function resolveMethod(root: protobuf.Root, name: MethodName): ResolvedMethod {
  const service = root.lookup(name.service);
  if (!(service instanceof protobuf.Service)) {
    const known = services(root);
    throw new UsageError(`no service ${name.service} in the schema${known.length ? ` (services: ${known.join(', ')})` : ''}`);
  }
  const method = service.methods[name.method];
  if (!method) {
    const known = Object.keys(service.methods);
    throw new UsageError(`service ${name.service} has no method ${name.method} (methods: ${known.join(', ') || 'none'})`);
  }
  method.resolve();
  return {
    path: `/${service.fullName.slice(1)}/${method.name}`,
    requestType: method.resolvedRequestType!,
    responseType: method.resolvedResponseType!,
    requestStream: !!method.requestStream,
    responseStream: !!method.responseStream,
  };
}

/** Every service defined in a root, fully qualified. */
export function services(root: protobuf.Root): string[] {
  const out: string[] = [];
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Service) out.push(o.fullName.slice(1));
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) walk(o);
    }
  };
  walk(root);
  return out.sort();
}

/** A proto-like description of a service, method, message or enum, as `grpcurl describe` prints. */
export function describeSymbol(root: protobuf.Root, symbol: string): string {
  const name = symbol.replace(/^\./, '').replace(/\/([^/]+)$/, '.$1');
  const o = root.lookup(name);
  if (!o) throw new UsageError(`symbol ${symbol} not found`);
  const full = o.fullName.slice(1);
  if (o instanceof protobuf.Service)
    return `${full} is a service:\nservice ${o.name} {\n${o.methodsArray.map((m) => `  ${methodLine(m)}\n`).join('')}}\n`;
  if (o instanceof protobuf.Method) return `${full} is a method:\n${methodLine(o)}\n`;
  if (o instanceof protobuf.Type) return `${full} is a message:\n${messageText(o, '')}`;
  if (o instanceof protobuf.Enum)
    return `${full} is an enum:\nenum ${o.name} {\n${Object.entries(o.values)
      .map(([k, v]) => `  ${k} = ${v};\n`)
      .join('')}}\n`;
  throw new UsageError(`${symbol} is not a service, method, message or enum`);
}

function methodLine(m: protobuf.Method): string {
  m.resolve();
  const req = `${m.requestStream ? 'stream ' : ''}.${m.resolvedRequestType!.fullName.slice(1)}`;
  const res = `${m.responseStream ? 'stream ' : ''}.${m.resolvedResponseType!.fullName.slice(1)}`;
  return `rpc ${m.name} ( ${req} ) returns ( ${res} );`;
}

function messageText(t: protobuf.Type, indent: string): string {
  const lines: string[] = [`${indent}message ${t.name} {`];
  for (const f of [...t.fieldsArray].sort((a, b) => a.id - b.id)) {
    f.resolve();
    const type = f.resolvedType ? `.${f.resolvedType.fullName.slice(1)}` : f.type;
    const decl = f instanceof protobuf.MapField ? `map<${f.keyType}, ${type}>` : `${f.repeated ? 'repeated ' : ''}${type}`;
    lines.push(`${indent}  ${decl} ${f.name} = ${f.id};`);
  }
  for (const n of t.nestedArray)
    if (n instanceof protobuf.Type && !n.options?.map_entry) lines.push(messageText(n, indent + '  ').trimEnd());
  lines.push(`${indent}}`);
  return lines.join('\n') + '\n';
}
