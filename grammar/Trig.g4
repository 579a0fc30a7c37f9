// The trig rule language (see docs/language.md). The generated parser lives in the build tree;
// only compiler/parse/ includes it, and it turns the parse tree into trig's own AST.
grammar Trig;

file : decl* EOF ;

decl
    : importDecl
    | eventDecl
    | customerDecl
    | templateDecl
    | settingsDecl
    | triggerDecl
    | ruleDecl
    | testDecl
    ;

importDecl   : IMPORT STRING ;
eventDecl    : EVENT ident PASSIVE? (FROM STRING (',' STRING)*)? '{' fieldList '}' ;
customerDecl : CUSTOMER '{' fieldList '}' ;
fieldList    : (field (','? field)*)? ','? ;
field        : ident optional='?'? ':' typeRef ('=' expr)? (FROM STRING (',' STRING)*)? ;
typeRef      : ident | '[' typeRef ']' ;

templateDecl : TEMPLATE ident '{' templatePart* '}' ;
templatePart
    : SUBJECT STRING            # subjectPart
    | BODY FILE STRING          # bodyFilePart
    | BODY STRING               # bodyPart
    ;

settingsDecl : SETTINGS '{' setting* '}' ;
setting      : ident settingArg+ ;
settingArg
    : INT | DURATION | TIME_RANGE | TIME_OF_DAY | PER | STRING | BAD_NUMBER | DECIMAL
    | ACTIVITY | IGNORE
    // Never valid, parsed so that the checker can say what to write instead: `per day` (1d),
    // `22h-8h` (22:00-08:00).
    | PER ident
    | DURATION '-' DURATION
    ;

triggerDecl  : TRIGGER ident STRING? ':' ruleDecl ;

ruleDecl
    : WHEN anchor (AND terms+=notExpr)* (UNLESS unlessExpr+=expr)*
      ruleOption*
      steps
    ;
ruleOption
    : PRIORITY expr                          # priorityOption
    | LIMIT INT PER DURATION                 # limitOption
    | GOAL eventRef WITHIN DURATION          # goalOption
    ;

anchor
    : eventRef (AS ident)?                   # singleAnchor
    | '(' eventRef (OR eventRef)* ')'        # anyAnchor
    ;
eventRef : ident ('(' filter ')')? ;
filter
    : SAME ident (',' SAME ident)*           # sameFilter
    | expr                                   # exprFilter
    ;

steps  : step (THEN step)* ;
step   : (AFTER DURATION (UNLESS expr)*)? action ;
action
    : SEND ident (WITH binding (',' binding)*)?     # sendAction
    | SPLIT ident '{' variant* '}'                  # splitAction
    ;
binding : ident '=' expr ;
variant : PERCENT ident ':' (HOLDOUT | steps) ;   // `holdout`: a control group

// Expressions, loosest first: or, and, not, comparisons, + -, * /, primaries.
expr     : andExpr (OR andExpr)* ;
andExpr  : notExpr (AND notExpr)* ;
notExpr  : NOT notExpr | cmpExpr ;
cmpExpr  : addExpr (cmpOp addExpr)? ;
cmpOp    : '==' | '!=' | '<' | '<=' | '>' | '>=' | IN | CONTAINS | STARTS_WITH ;
addExpr  : mulExpr (op+=('+' | '-') mulExpr)* ;
mulExpr  : unaryExpr (op+=('*' | '/') unaryExpr)* ;
unaryExpr: '-' unaryExpr | primary ;

primary
    : '(' expr ')'                                          # parenExpr
    | IDLE DURATION                                         # idleExpr
    | COUNT '(' eventRef ')' (WITHIN DURATION)?             # countExpr
    | aggFn '(' eventRef '.' ident ')' (WITHIN DURATION)?   # aggExpr
    | LAST '(' eventRef ')' '.' ident                       # lastExpr
    | CUSTOMER '.' ident                                    # traitExpr
    | ident '(' filter ')' (WITHIN DURATION)?               # callExpr
    | ident WITHIN DURATION                                 # withinExpr
    | ident ('.' ident)*                                    # nameExpr
    | '[' (expr (',' expr)*)? ','? ']'                      # listExpr
    | literal                                               # literalExpr
    ;
aggFn : SUM | MIN | MAX | AVG | MEDIAN ;
literal
    : INT | DECIMAL | STRING | TRUE | FALSE | DURATION | PERCENT | TIMESTAMP | BAD_NUMBER
    ;

// Tests (section 10 of the design).
testDecl : TEST STRING '{' testStmt* '}' ;
testStmt
    : CUSTOMER STRING props?                                       # testCustomer
    | AT (TIMESTAMP | '+' DURATION) ident STRING props?           # testEvent
    | EXPECT SEND tmpl=ident (TO to=STRING)? (FROM ruleName=ident)? (AT TIMESTAMP)?
      (VARIANT variantName=ident)? (SUBJECT subject=STRING)? (COUNT INT)?  # testExpectSend
    // `at` is parsed only so that the checker can say, at it, that `expect no send` takes none.
    | EXPECT NO SEND tmpl=ident (TO to=STRING)? (FROM ruleName=ident)? (AT TIMESTAMP)?  # testExpectNoSend
    | EXPECT SUPPRESSED tmpl=ident TO to=STRING (FROM ruleName=ident)? BECAUSE reason=ident  # testExpectSuppressed
    | PIN STRING ruleName=ident '.' split=ident variantName=ident      # testPin
    ;
props : '{' (prop (','? prop)*)? ','? '}' ;
prop  : ident ':' expr ;

// Contextual keywords stay usable as names.
ident
    : IDENT | SUBJECT | BODY | FILE | PASSIVE | FROM | AT | EXPECT | NO | TO
    | ARBITRATION | CAP | QUIET_HOURS | DEDUP | SUPPRESSED | BECAUSE | PIN | VARIANT
    | HOLDOUT | MEDIAN | ACTIVITY | IGNORE
    ;

// ---- Lexer -------------------------------------------------------------------------------------

WHEN : 'when' ; AND : 'and' ; OR : 'or' ; NOT : 'not' ; UNLESS : 'unless' ; WITHIN : 'within' ;
IDLE : 'idle' ; AFTER : 'after' ; THEN : 'then' ; SEND : 'send' ; WITH : 'with' ;
SPLIT : 'split' ; PRIORITY : 'priority' ; LIMIT : 'limit' ; PER : 'per' ; GOAL : 'goal' ;
SAME : 'same' ; AS : 'as' ; TRIGGER : 'trigger' ; EVENT : 'event' ; TEMPLATE : 'template' ;
SETTINGS : 'settings' ; CUSTOMER : 'customer' ; IMPORT : 'import' ; TEST : 'test' ;
TRUE : 'true' ; FALSE : 'false' ; IN : 'in' ; CONTAINS : 'contains' ;
STARTS_WITH : 'starts_with' ; COUNT : 'count' ; SUM : 'sum' ; MIN : 'min' ; MAX : 'max' ;
AVG : 'avg' ; LAST : 'last' ;

SUBJECT : 'subject' ; BODY : 'body' ; FILE : 'file' ; PASSIVE : 'passive' ; FROM : 'from' ;
AT : 'at' ; EXPECT : 'expect' ; NO : 'no' ; TO : 'to' ; ARBITRATION : 'arbitration' ;
CAP : 'cap' ; QUIET_HOURS : 'quiet_hours' ; DEDUP : 'dedup' ; SUPPRESSED : 'suppressed' ;
BECAUSE : 'because' ; PIN : 'pin' ; VARIANT : 'variant' ; HOLDOUT : 'holdout' ;
MEDIAN : 'median' ; ACTIVITY : 'activity' ; IGNORE : 'ignore' ;

TIMESTAMP   : DIGIT DIGIT DIGIT DIGIT '-' DIGIT DIGIT '-' DIGIT DIGIT [Tt] DIGIT DIGIT ':' DIGIT DIGIT
              (':' DIGIT DIGIT ('.' DIGIT+)?)? ([Zz] | [+-] DIGIT DIGIT ':' DIGIT DIGIT) ;
TIME_RANGE  : DIGIT DIGIT ':' DIGIT DIGIT '-' DIGIT DIGIT ':' DIGIT DIGIT ;
TIME_OF_DAY : DIGIT DIGIT ':' DIGIT DIGIT ;
DURATION    : (DIGIT+ [smhdw])+ ;
PERCENT     : DIGIT+ ('.' DIGIT+)? '%' ;
DECIMAL     : DIGIT+ '.' DIGIT+ ;
INT         : DIGIT+ ;
// A number glued to letters that do not make a duration (`10q`, `15min`): one token, so the
// checker can say which unit is wrong instead of reporting a stray name.
BAD_NUMBER  : DIGIT+ ('.' DIGIT+)? [A-Za-z_] [A-Za-z0-9_]* ;

// Inside `{{ }}` a quote does not end the string. Raw line breaks are not allowed in strings
// (write \n), so an unterminated string stops at the end of its line.
STRING      : '"' ( ESC | '{{' ( ~[}\r\n] | '}' ~[}\r\n] )* '}}' | ~["\\\r\n] )* '"' ;
UNTERMINATED_STRING : '"' ( ESC | ~["\\\r\n] )* ;

IDENT       : [A-Za-z_] [A-Za-z0-9_]* ;

EQ : '==' ; NE : '!=' ; LE : '<=' ; GE : '>=' ; LT : '<' ; GT : '>' ;
ASSIGN : '=' ; PLUS : '+' ; MINUS : '-' ; STAR : '*' ; SLASH : '/' ;
LPAREN : '(' ; RPAREN : ')' ; LBRACE : '{' ; RBRACE : '}' ; LBRACK : '[' ; RBRACK : ']' ;
COMMA : ',' ; COLON : ':' ; DOT : '.' ; QUESTION : '?' ;

LINE_COMMENT : ('#' | '//') ~[\r\n]* -> channel(HIDDEN) ;
WS           : [ \t\r\n\u000C]+ -> channel(HIDDEN) ;
// Anything else is one bad character; the parser reports it instead of the lexer printing.
BAD_CHAR     : . ;

fragment DIGIT : [0-9] ;
// Any escaped character lexes; the parser's builder reports the ones the language lacks.
fragment ESC   : '\\' ( 'u{' [0-9A-Fa-f]* '}' | ~[\r\n] ) ;
