// Tests run offline and must not read the developer's MERIDIAN__* variables.
for (const name of Object.keys(process.env)) {
  if (name.startsWith('MERIDIAN__')) delete process.env[name];
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
