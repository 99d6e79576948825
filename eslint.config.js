// Lint rules, including the import boundaries of DESIGN.md: only config/ knows source API types,
// the data plane never imports config/, only dataplane/build reads the IR at run time.
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
const layer = (group, message) => ({ group, message });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/.work/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a union of string literals (erasableSyntaxOnly).' },
        { selector: 'TSModuleDeclaration[kind="namespace"]', message: 'No namespaces (erasableSyntaxOnly).' },
      ],
    },
  },
  {
    files: ['src/common/**/*.ts'],
    rules: restrict([
      layer(
        [
          '**/ir/**',
          '**/config/**',
          '**/dataplane/**',
          '**/admin/**',
          '**/runtime/**',
          '**/cli/**',
          '**/analyze/**',
          '**/fake-service/**',
          '**/client/**',
        ],
        'common/ imports nothing of the project.',
      ),
    ]),
  },
  {
    files: ['src/ir/**/*.ts'],
    rules: restrict([
      layer(
        ['**/config/**', '**/dataplane/**', '**/admin/**', '**/runtime/**', '**/cli/**', '**/analyze/**', '**/fake-service/**'],
        'ir/ imports only common/.',
      ),
    ]),
  },
  {
    files: ['src/config/**/*.ts'],
    rules: restrict([
      layer(
        ['**/dataplane/**', '**/admin/**', '**/runtime/**', '**/cli/**', '**/analyze/**'],
        'config/ produces IR; it never imports the data plane.',
      ),
    ]),
  },
  {
    files: ['src/dataplane/**/*.ts'],
    ignores: ['src/dataplane/build.ts', 'src/dataplane/proxy.ts', 'src/dataplane/router/**/*.ts', 'src/dataplane/**/*.test.ts'],
    rules: restrict([
      layer(['**/config/**'], 'The data plane never imports config/.'),
      {
        group: ['**/ir/index.js', '**/ir/*.js'],
        allowTypeImports: true,
        message: 'Only dataplane/build.ts (and the router it calls) read the IR at run time; take compiled values instead.',
      },
    ]),
  },
  {
    files: ['src/dataplane/build.ts', 'src/dataplane/proxy.ts', 'src/dataplane/router/**/*.ts'],
    rules: restrict([layer(['**/config/**'], 'The data plane never imports config/.')]),
  },
  {
    files: ['src/fake-service/**/*.ts'],
    rules: restrict([
      layer(
        ['**/ir/**', '**/config/**', '**/dataplane/**', '**/admin/**', '**/runtime/**', '**/cli/**', '**/analyze/**'],
        'fake-service imports only common/.',
      ),
    ]),
  },
  {
    files: ['src/client/**/*.ts'],
    rules: restrict([
      layer(
        ['**/ir/**', '**/config/**', '**/dataplane/**', '**/admin/**', '**/runtime/**', '**/cli/**', '**/analyze/**', '**/fake-service/**'],
        'client/ (legate call, legate load) imports only common/.',
      ),
    ]),
  },
  {
    files: ['src/runtime/**/*.ts'],
    rules: restrict([layer(['**/dataplane/**'], 'runtime/ uses config/ and ir/, not data-plane internals.')]),
  },
  {
    files: ['src/analyze/**/*.ts'],
    rules: restrict([
      layer(
        ['**/dataplane/**', '**/admin/**', '**/cli/**', '**/client/**'],
        'analyze/ reads the IR, config/, runtime planning and fake-service settings; never the data plane.',
      ),
    ]),
  },
  {
    files: ['src/admin/**/*.ts'],
    rules: restrict([
      layer(['**/config/**'], 'admin/ reads snapshots; it does not translate manifests.'),
      layer(['**/runtime/**', '**/cli/**', '**/fake-service/**'], 'admin/ reads the proxy; the CLI and the runtime hand it what it shows.'),
      layer(
        ['**/dataplane/request/**', '**/dataplane/router/**', '**/dataplane/listener/**', '**/dataplane/http/**', '**/dataplane/build.js'],
        "admin/ reads the data plane's public surface: proxy.ts, stats/ and the upstream types.",
      ),
      { group: ['**/dataplane/upstream/**'], allowTypeImports: true, message: 'admin/ only reads upstream objects (type imports).' },
    ]),
  },
);
