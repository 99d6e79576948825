// The HPACK static table (RFC 7541 Appendix A). Index 0 is unused so that table index i is at [i].

export const STATIC_TABLE_LENGTH = 61;

/** Header names by static index (1..61). */
export const STATIC_NAMES: readonly string[] = [
  '',
  ':authority',
  ':method',
  ':method',
  ':path',
  ':path',
  ':scheme',
  ':scheme',
  ':status',
  ':status',
  ':status',
  ':status',
  ':status',
  ':status',
  ':status',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'accept',
  'access-control-allow-origin',
  'age',
  'allow',
  'authorization',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-range',
  'content-type',
  'cookie',
  'date',
  'etag',
  'expect',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'link',
  'location',
  'max-forwards',
  'proxy-authenticate',
  'proxy-authorization',
  'range',
  'referer',
  'refresh',
  'retry-after',
  'server',
  'set-cookie',
  'strict-transport-security',
  'transfer-encoding',
  'user-agent',
  'vary',
  'via',
  'www-authenticate',
];

/** Header values by static index; only entries 2..14 and 16 have one. */
export const STATIC_VALUES: readonly string[] = STATIC_NAMES.map((_, i) => {
  switch (i) {
    case 2:
      return 'GET';
    case 3:
      return 'POST';
    case 4:
      return '/';
    case 5:
      return '/index.html';
    case 6:
      return 'http';
    case 7:
      return 'https';
    case 8:
      return '200';
    case 9:
      return '204';
    case 10:
      return '206';
    case 11:
      return '304';
    case 12:
      return '400';
    case 13:
      return '404';
    case 14:
      return '500';
    case 16:
      return 'gzip, deflate';
    default:
      return '';
  }
});
