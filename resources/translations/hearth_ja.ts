<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP">
<context>
    <name>AttachButton</name>
    <message>
        <location filename="../../app/ui/document_chips.py" line="+455"/>
        <source>Attach</source>
        <translation>添付</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Attach documents to this chat: PDF, Word, PowerPoint, Excel, CSV, text, Markdown, HTML or code. You can also drop files or folders on the chat.</source>
        <translation>このチャットに文書を添付します（PDF、Word、PowerPoint、Excel、CSV、テキスト、Markdown、HTML、ソースコード）。ファイルやフォルダーをチャットにドロップしても添付できます。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Attach documents</source>
        <translation>文書を添付</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Files…</source>
        <translation>ファイル…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Folder…</source>
        <translation>フォルダー…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Library</source>
        <translation>ライブラリ</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save these documents as a library…</source>
        <translation>これらの文書をライブラリとして保存…</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>{name} ({n})</source>
        <translation>{name}（{n}）</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No libraries yet</source>
        <translation>ライブラリはまだありません</translation>
    </message>
</context>
<context>
    <name>ChatPane</name>
    <message>
        <location filename="../../app/ui/chat_pane.py" line="+115"/>
        <source>Low</source>
        <translation>低</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Medium</source>
        <translation>中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>High</source>
        <translation>高</translation>
    </message>
    <message>
        <location line="+85"/>
        <source>Documents</source>
        <translation>文書</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>All files</source>
        <translation>すべてのファイル</translation>
    </message>
    <message>
        <location line="+244"/>
        <source>Jump to latest</source>
        <translation>最新へ移動</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Message the model (Enter to send, Shift+Enter for a new line)</source>
        <translation>モデルへのメッセージ（Enter で送信、Shift+Enter で改行）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Message</source>
        <translation>メッセージ</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Start a new conversation (Ctrl+N)</source>
        <translation>新しい会話を始める (Ctrl+N)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chat settings...</source>
        <translation>このチャットの設定...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings of this conversation</source>
        <translation>この会話の設定</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Instructions, temperature and reply length for this conversation only</source>
        <translation>この会話だけの指示、温度、返答の長さ</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Chat with language models on this computer: nothing leaves it.
To start, get a model: Models recommends one that suits this PC.</source>
        <translation>このコンピューターで言語モデルとチャットできます。データが外部に送られることはありません。
まずはモデルを入手しましょう。「モデル」でこの PC に合うものをおすすめします。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Get a model...</source>
        <translation>モデルを入手...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Show the models</source>
        <translation>モデルを表示</translation>
    </message>
    <message>
        <location line="+73"/>
        <source>Your message will be sent when the documents have been read.</source>
        <translation>文書の読み込みが終わったらメッセージを送信します。</translation>
    </message>
    <message>
        <location line="+81"/>
        <source>This conversation could not be opened. {reason}</source>
        <translation>この会話を開けませんでした。{reason}</translation>
    </message>
    <message>
        <location line="+75"/>
        <source>Attach documents</source>
        <translation>文書を添付</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Attach a folder</source>
        <translation>フォルダーを添付</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Save as a library</source>
        <translation>ライブラリとして保存</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A library can be attached to other chats. Name:</source>
        <translation>ライブラリはほかのチャットにも添付できます。名前:</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Saved {n} documents as the library “{name}”.</source>
        <translation>{n} 件の文書をライブラリ「{name}」として保存しました。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Documents cannot be attached: the conversation history could not be opened.</source>
        <translation>文書を添付できません。会話履歴を開けませんでした。</translation>
    </message>
    <message>
        <location line="+45"/>
        <source>Opened {name} (the passage is on page {page}).</source>
        <translation>{name} を開きました（該当箇所は {page} ページです）。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Opened {name}.</source>
        <translation>{name} を開きました。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{name} could not be opened: it is no longer at {path}, or no program on this computer opens it.</source>
        <translation>{name} を開けませんでした。{path} にもう存在しないか、このコンピューターに開けるプログラムがありません。</translation>
    </message>
    <message>
        <location line="+112"/>
        <source>This conversation could not be saved. {reason} What is on screen stays; Hearth tries again as the conversation goes on.</source>
        <translation>この会話を保存できませんでした。{reason} 画面の内容はそのまま残ります。会話を続けると Hearth が再度保存を試みます。</translation>
    </message>
    <message>
        <location line="+127"/>
        <source>Open a model to go on with this conversation.</source>
        <translation>この会話を続けるには、モデルを開いてください。</translation>
    </message>
    <message>
        <location line="+144"/>
        <source>This reply is still being written (by another Hearth window or command).</source>
        <translation>この返答はまだ書き込み中です（別の Hearth ウィンドウまたはコマンドによる）。</translation>
    </message>
    <message>
        <location line="+270"/>
        <source>Send</source>
        <translation>送信</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Waiting…</source>
        <translation>待機中…</translation>
    </message>
    <message>
        <location line="-1003"/>
        <source>Send or stop</source>
        <translation>送信または停止</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+1"/>
        <source>New chat</source>
        <translation>新しいチャット</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Status</source>
        <translation>ステータス</translation>
    </message>
    <message>
        <location line="+24"/>
        <location line="+755"/>
        <location line="+73"/>
        <source>No model loaded</source>
        <translation>モデルが読み込まれていません</translation>
    </message>
    <message>
        <location line="-851"/>
        <source>How long the model thinks before it answers. More effort means longer thinking and usually better answers to hard questions; less is faster.</source>
        <translation>回答する前にモデルが考える長さです。深くすると考える時間が長くなり、難しい質問にはたいてい良い回答になります。浅くすると速くなります。</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+2"/>
        <source>Reasoning effort</source>
        <translation>推論の深さ</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Welcome to Hearth</source>
        <translation>Hearth へようこそ</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Chat with language models on this computer: nothing leaves it.
To start, open a model folder (an ONNX Runtime GenAI model, the folder that holds genai_config.json).</source>
        <translation>このコンピューター上で言語モデルとチャットできます。データが外部に送られることはありません。
まずはモデルフォルダー（genai_config.json を含む ONNX Runtime GenAI 形式のモデルのフォルダー）を開いてください。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Open model folder...</source>
        <translation>モデルフォルダーを開く...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Open model folder</source>
        <translation>モデルフォルダーを開く</translation>
    </message>
    <message>
        <location line="+607"/>
        <source>The model is busy; try again.</source>
        <translation>モデルは処理中です。もう一度お試しください。</translation>
    </message>
    <message>
        <location line="+205"/>
        <source>Loading {path}...</source>
        <translation>{path} を読み込み中...</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{model} · {provider} · loaded in {s:.1f} s · context {ctx} tokens</source>
        <translation>{model} · {provider} · 読み込み {s:.1f} 秒 · コンテキスト {ctx} トークン</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Running on {provider}. {reasons}</source>
        <translation>{provider} で実行しています。{reasons}</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>{model} · thinking · {n} tokens</source>
        <translation>{model} · 思考中 · {n} トークン</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{model} · generating · {n} tokens</source>
        <translation>{model} · 生成中 · {n} トークン</translation>
    </message>
    <message>
        <location line="-115"/>
        <source>Stopped.</source>
        <translation>停止しました。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The context window is full; the reply was cut off.</source>
        <translation>コンテキストウィンドウがいっぱいになったため、返答が途中で切れました。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reached the reply length limit.</source>
        <translation>返答の最大長に達しました。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The {n} oldest messages no longer fit the context window and were left out.</source>
        <translation>コンテキストウィンドウに収まらないため、古いメッセージ {n} 件を除外しました。</translation>
    </message>
    <message>
        <location line="-15"/>
        <source>{n} tokens · {tps:.1f} tok/s · first token {ttft:.0f} ms</source>
        <translation>{n} トークン · {tps:.1f} tok/s · 最初のトークンまで {ttft:.0f} ms</translation>
    </message>
    <message>
        <location line="+150"/>
        <source>{model} · {tps:.1f} tok/s · {n} tokens</source>
        <translation>{model} · {tps:.1f} tok/s · {n} トークン</translation>
    </message>
    <message>
        <location line="+90"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
</context>
<context>
    <name>Choices</name>
    <message>
        <location filename="../../app/ui/i18n.py" line="+50"/>
        <source>Auto (GPU if available)</source>
        <translation>自動（GPU を優先）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>CUDA (NVIDIA)</source>
        <translation>CUDA（NVIDIA）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>DirectML (Windows GPU)</source>
        <translation>DirectML（Windows の GPU）</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Low</source>
        <translation>低</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Medium</source>
        <translation>中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>High</source>
        <translation>高</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_pane.py" line="+84"/>
        <source>Light</source>
        <translation>ライト</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dark</source>
        <translation>ダーク</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Follow the system</source>
        <translation>システムに合わせる</translation>
    </message>
</context>
<context>
    <name>ConversationListModel</name>
    <message>
        <location filename="../../app/ui/history_sidebar.py" line="+89"/>
        <source>Pinned</source>
        <translation>ピン留め</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Today</source>
        <translation>今日</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Yesterday</source>
        <translation>昨日</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Previous 7 days</source>
        <translation>過去 7 日間</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Previous 30 days</source>
        <translation>過去 30 日間</translation>
    </message>
    <message>
        <location line="+129"/>
        <source>Untitled conversation</source>
        <translation>無題の会話</translation>
    </message>
</context>
<context>
    <name>ConversationSettingsDialog</name>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="+35"/>
        <source>Conversation settings</source>
        <translation>会話の設定</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+2"/>
        <source>Instructions</source>
        <translation>指示</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+1"/>
        <source>Temperature</source>
        <translation>温度</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+1"/>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+1"/>
        <source>Top-k</source>
        <translation>Top-k</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+2"/>
        <source>Longest reply</source>
        <translation>返答の最大長</translation>
    </message>
    <message>
        <location line="-1"/>
        <source> tokens</source>
        <translation> トークン</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Changing the instructions makes the model read the whole conversation again before its next reply.</source>
        <translation>指示を変えると、次の返答の前にモデルが会話全体を読み直します。</translation>
    </message>
</context>
<context>
    <name>DocumentChip</name>
    <message>
        <location filename="../../app/ui/document_chips.py" line="-262"/>
        <source>Library: {name}</source>
        <translation>ライブラリ: {name}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{n} documents</source>
        <translation>{n} 件の文書</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>1 document</source>
        <translation>1 件の文書</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A library: its documents are attached to this chat as a whole.</source>
        <translation>ライブラリです。含まれる文書がまとめてこのチャットに添付されています。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Take this library out of the chat</source>
        <translation>このライブラリをチャットから外す</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+10"/>
        <source>Remove {name}</source>
        <translation>{name} を外す</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>Stop reading and remove</source>
        <translation>読み込みを中止して外す</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Remove from this chat</source>
        <translation>このチャットから外す</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Waiting</source>
        <translation>待機中</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reading…</source>
        <translation>読み込み中…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reading {percent}%</source>
        <translation>読み込み中 {percent}%</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Indexing…</source>
        <translation>索引を作成中…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Indexing {percent}%</source>
        <translation>索引を作成中 {percent}%</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Failed: {reason}</source>
        <translation>失敗: {reason}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Ready</source>
        <translation>準備完了</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>1 slide</source>
        <translation>1 スライド</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>{n} slides</source>
        <translation>{n} スライド</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>1 sheet</source>
        <translation>1 シート</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>{n} sheets</source>
        <translation>{n} シート</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>1 page</source>
        <translation>1 ページ</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>{n} pages</source>
        <translation>{n} ページ</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Click to open it; the cross stops reading it and removes it.</source>
        <translation>クリックで開きます。× を押すと読み込みを中止して外します。</translation>
    </message>
</context>
<context>
    <name>DocumentChipRow</name>
    <message>
        <location line="+60"/>
        <source>Stop reading</source>
        <translation>読み込みを中止</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stop reading the documents not read yet</source>
        <translation>まだ読み込んでいない文書の読み込みを中止します</translation>
    </message>
</context>
<context>
    <name>DocumentService</name>
    <message>
        <location filename="../../app/workers/documents.py" line="+508"/>
        <source>No documents Hearth can read were found in {folders}.</source>
        <translation>{folders} に Hearth が読める文書は見つかりませんでした。</translation>
    </message>
</context>
<context>
    <name>DropOverlay</name>
    <message>
        <location filename="../../app/ui/document_chips.py" line="+172"/>
        <source>Drop files or folders to attach them to this chat</source>
        <translation>ファイルやフォルダーをここにドロップすると、このチャットに添付されます</translation>
    </message>
</context>
<context>
    <name>ErrorPresenter</name>
    <message>
        <location filename="../../app/ui/error_presenter.py" line="+61"/>
        <source>Something went wrong</source>
        <translation>問題が発生しました</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hearth hit an unexpected error. Your conversation is safe; you can keep working. The details are in the log:
{path}</source>
        <translation>Hearth で予期しないエラーが発生しました。会話は失われていないので、そのまま作業を続けられます。詳細はログに記録されています：
{path}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copy details</source>
        <translation>詳細をコピー</translation>
    </message>
</context>
<context>
    <name>HistorySidebar</name>
    <message>
        <location filename="../../app/ui/history_sidebar.py" line="+326"/>
        <source>Conversation history</source>
        <translation>会話の履歴</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+1"/>
        <source>New chat</source>
        <translation>新しいチャット</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Start a new conversation (Ctrl+N)</source>
        <translation>新しい会話を始める (Ctrl+N)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search (Ctrl+F)</source>
        <translation>検索 (Ctrl+F)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search conversations</source>
        <translation>会話を検索</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Find conversations by the words in them (Ctrl+F; Esc clears)</source>
        <translation>含まれる言葉で会話を探します（Ctrl+F、Esc で消去）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Conversations</source>
        <translation>会話</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Undo</source>
        <translation>元に戻す</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Undo delete</source>
        <translation>削除を元に戻す</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Notice</source>
        <translation>お知らせ</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>Rename</source>
        <translation>名前を変更</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Unpin</source>
        <translation>ピン留めを外す</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Pin</source>
        <translation>ピン留め</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Export</source>
        <translation>書き出し</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+14"/>
        <source>Markdown...</source>
        <translation>Markdown...</translation>
    </message>
    <message>
        <location line="-11"/>
        <location line="+13"/>
        <source>JSON...</source>
        <translation>JSON...</translation>
    </message>
    <message>
        <location line="-9"/>
        <source>Include the model&apos;s thinking</source>
        <translation>モデルの思考を含める</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Export all conversations</source>
        <translation>すべての会話を書き出す</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Delete</source>
        <translation>削除</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>Untitled conversation</source>
        <translation>無題の会話</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Deleted “{title}”.</source>
        <translation>「{title}」を削除しました。</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Markdown (*.md)</source>
        <translation>Markdown ファイル (*.md)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>JSON (*.json)</source>
        <translation>JSON ファイル (*.json)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Export conversation</source>
        <translation>会話を書き出す</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>The conversation could not be saved to {path}: {reason}</source>
        <translation>会話を {path} に保存できませんでした: {reason}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Exported to {name}.</source>
        <translation>{name} に書き出しました。</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>No conversation contains these words.</source>
        <translation>これらの言葉を含む会話はありません。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No conversations yet. What you write is saved here, on this computer only.</source>
        <translation>まだ会話はありません。書いた内容はこのコンピューターの中だけに保存されます。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../app/ui/main_window.py" line="+254"/>
        <source>Execution provider</source>
        <translation>実行プロバイダー</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Where the model runs; Auto tries the GPU first</source>
        <translation>モデルを実行する場所です。「自動」はまず GPU を試します</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Open model folder...</source>
        <translation>モデルフォルダーを開く...</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+97"/>
        <source>Open model folder</source>
        <translation>モデルフォルダーを開く</translation>
    </message>
    <message>
        <location line="-96"/>
        <source>Chat</source>
        <translation>チャット</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Show the chat</source>
        <translation>チャットを表示</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chat (Ctrl+L)</source>
        <translation>チャット（Ctrl+L）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Models</source>
        <translation>モデル</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Show the models</source>
        <translation>モデルを表示</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Models: download, load and remove (Ctrl+M)</source>
        <translation>モデル：ダウンロード、読み込み、削除（Ctrl+M）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Settings</source>
        <translation>設定</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Show the settings</source>
        <translation>設定を表示</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings (Ctrl+,)</source>
        <translation>設定（Ctrl+,）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Notice</source>
        <translation>お知らせ</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Loading...</source>
        <translation>読み込み中...</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No model</source>
        <translation>モデルなし</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Some settings could not be read, so Hearth is using their defaults.</source>
        <translation>一部の設定を読み込めなかったため、その設定には既定値を使っています。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>See Settings</source>
        <translation>設定を確認</translation>
    </message>
    <message>
        <location line="+60"/>
        <source>The model set to load at start is not at {folder}. Open another, or change it in Settings.</source>
        <translation>起動時に読み込むモデルが {folder} に見つかりません。別のモデルを開くか、設定で変更してください。</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Wait for the current reply or load to finish.</source>
        <translation>現在の返答または読み込みが終わるまでお待ちください。</translation>
    </message>
</context>
<context>
    <name>MessageWidget</name>
    <message>
        <location filename="../../app/ui/message_widget.py" line="+450"/>
        <source>Copy</source>
        <translation>コピー</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copy this message as Markdown</source>
        <translation>このメッセージを Markdown でコピー</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy the answer as Markdown</source>
        <translation>回答を Markdown でコピー</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copy message</source>
        <translation>メッセージをコピー</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copy answer</source>
        <translation>回答をコピー</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copy with thinking</source>
        <translation>思考も含めてコピー</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy the answer with the model&apos;s thinking quoted before it</source>
        <translation>モデルの思考を引用として前に付け、回答をコピー</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Edit</source>
        <translation>編集</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Edit this message and get a new reply; the current version stays reachable</source>
        <translation>このメッセージを編集して新しい返答を得ます。今の版もあとで見られます</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+5"/>
        <source>Edit message</source>
        <translation>メッセージを編集</translation>
    </message>
    <message>
        <location line="-4"/>
        <location line="+14"/>
        <source>Regenerate</source>
        <translation>再生成</translation>
    </message>
    <message>
        <location line="-13"/>
        <source>Write this reply again; the current one stays reachable</source>
        <translation>この返答を書き直します。今の返答もあとで見られます</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Save and send</source>
        <translation>保存して送信</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save the edited message and send it</source>
        <translation>編集したメッセージを保存して送信</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>キャンセル</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel editing</source>
        <translation>編集をキャンセル</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Continue</source>
        <translation>続ける</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Continue the reply</source>
        <translation>返答を続ける</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Go on from your message. Hearth cannot yet resume a reply mid-sentence, so the model writes it anew; the cut-off text stays reachable.</source>
        <translation>あなたのメッセージから続けます。Hearth はまだ途中から返答を再開できないため、モデルが返答を書き直します。途中までの文章もあとで見られます。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Write this reply again</source>
        <translation>この返答をもう一度生成</translation>
    </message>
    <message>
        <location line="+130"/>
        <source>Sources</source>
        <translation>出典</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Click a source to open the file</source>
        <translation>出典をクリックするとファイルを開きます</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>{name}, p. {page}</source>
        <translation>{name}、{page} ページ</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name}, pp. {start}-{end}</source>
        <translation>{name}、{start}〜{end} ページ</translation>
    </message>
    <message>
        <location line="+132"/>
        <source>Version {index} of {count}</source>
        <translation>{count} 件中 {index} 件目の版</translation>
    </message>
    <message>
        <location line="-287"/>
        <location line="+12"/>
        <source>Regenerate reply</source>
        <translation>返答を再生成</translation>
    </message>
    <message>
        <location line="-29"/>
        <source>You</source>
        <translation>あなた</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Assistant</source>
        <translation>アシスタント</translation>
    </message>
    <message>
        <location line="+31"/>
        <location line="+1"/>
        <source>Previous version</source>
        <translation>前の版</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+1"/>
        <source>Next version</source>
        <translation>次の版</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Hearth stopped before this reply was finished.</source>
        <translation>この返答が終わる前に Hearth が停止しました。</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>The model gave no answer; only its thinking is shown.</source>
        <translation>モデルは回答しませんでした。思考の内容だけを表示しています。</translation>
    </message>
    <message>
        <location line="+131"/>
        <source>Thinking</source>
        <translation>思考</translation>
    </message>
</context>
<context>
    <name>ModelManager</name>
    <message>
        <location filename="../../app/workers/models.py" line="+73"/>
        <source>Offline mode is on, so Hearth does not connect to Hugging Face. Turn it off in Settings (Privacy) to download models.</source>
        <translation>オフラインモードがオンのため、Hearth は Hugging Face に接続しません。モデルをダウンロードするには、設定（プライバシー）でオフにしてください。</translation>
    </message>
    <message>
        <location line="+434"/>
        <source>{where} is already installed as {name}.</source>
        <translation>{where} は「{name}」としてインストール済みです。</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>The catalog lists no document-search model.</source>
        <translation>カタログに文書検索用のモデルがありません。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>{name} is already downloaded.</source>
        <translation>{name} はダウンロード済みです。</translation>
    </message>
    <message>
        <location line="+81"/>
        <source>Hearth does not know where this download came from; discard it and start it again.</source>
        <translation>このダウンロードの入手元がわかりません。破棄してから、もう一度ダウンロードしてください。</translation>
    </message>
</context>
<context>
    <name>ModelManagerPane</name>
    <message>
        <location filename="../../app/ui/models_pane.py" line="+152"/>
        <source>Checking {folder}…</source>
        <translation>{folder} を確認しています…</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Remove {name} from the list? Its folder, {folder}, is not deleted.</source>
        <translation>{name} を一覧から外しますか？フォルダー（{folder}）は削除されません。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove {name}? Its folder, {folder}, is deleted and {size} of disk space is freed.</source>
        <translation>{name} を削除しますか？フォルダー（{folder}）が削除され、ディスクの空きが {size} 増えます。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The model is in use; it is unloaded first.</source>
        <translation>このモデルは使用中のため、先にメモリから解放します。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove model</source>
        <translation>モデルの削除</translation>
    </message>
    <message>
        <location line="+327"/>
        <source>en</source>
        <comment>the language code of this translation</comment>
        <translation>ja</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Models</source>
        <translation>モデル</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This PC</source>
        <translation>この PC</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Recommended for this PC</source>
        <translation>この PC へのおすすめ</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Downloads</source>
        <translation>ダウンロード</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Installed</source>
        <translation>インストール済み</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Available models</source>
        <translation>利用できるモデル</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Add from Hugging Face</source>
        <translation>Hugging Face から追加</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Document search</source>
        <translation>文書検索</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>No models yet. Download the recommended one above, or import a model folder you already have.</source>
        <translation>モデルはまだありません。上のおすすめをダウンロードするか、お持ちのモデルフォルダーを取り込んでください。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Models Hearth knows, checked against this PC. Each downloads the build that suits it.</source>
        <translation>Hearth が扱えるモデルと、この PC で動くかどうかです。それぞれこの PC に合う版をダウンロードします。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Any ONNX Runtime GenAI model: search, or enter its repository (owner/name) and the sub-folder that holds genai_config.json.</source>
        <translation>ONNX Runtime GenAI 形式のモデルなら追加できます。検索するか、リポジトリ（owner/name）と genai_config.json のあるサブフォルダーを入力してください。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Finding the passages of your documents that answer a question needs this small model. It runs on the CPU and stays on this PC.</source>
        <translation>文書の中から質問に答える箇所を探すには、この小さなモデルが必要です。CPU で動き、データはこの PC から出ません。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The catalog lists no document-search model.</source>
        <translation>カタログに文書検索用のモデルがありません。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Memory</source>
        <translation>メモリ</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Graphics</source>
        <translation>グラフィックス</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Free disk</source>
        <translation>ディスクの空き</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Runtime</source>
        <translation>ランタイム</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Check again</source>
        <translation>再確認</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Measure memory, graphics and disk again</source>
        <translation>メモリ、グラフィックス、ディスクをもう一度調べます</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Import folder…</source>
        <translation>フォルダーを取り込む…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Add a model folder you already have (the folder that holds genai_config.json)</source>
        <translation>お持ちのモデルフォルダー（genai_config.json のあるフォルダー）を追加します</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Use it where it is (do not copy)</source>
        <translation>コピーせずにその場所で使う</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>For a folder on a drive that stays connected; otherwise Hearth copies the model into its models folder</source>
        <translation>常に接続しているドライブ上のフォルダー向けです。オフのときは、モデルを Hearth のモデルフォルダーにコピーします</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Import progress</source>
        <translation>取り込みの進み具合</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>キャンセル</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Go to chat</source>
        <translation>チャットへ</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Loading the model</source>
        <translation>モデルを読み込み中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search Hugging Face, e.g. phi-4 onnx</source>
        <translation>Hugging Face を検索（例：phi-4 onnx）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search Hugging Face</source>
        <translation>Hugging Face を検索</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search</source>
        <translation>検索</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search results</source>
        <translation>検索結果</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Repository</source>
        <translation>リポジトリ</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>owner/name</source>
        <translation>owner/name</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sub-folder</source>
        <translation>サブフォルダー</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>e.g. cpu_and_mobile/cpu-int4-rtn-block-32 (empty: the top folder)</source>
        <translation>例：cpu_and_mobile/cpu-int4-rtn-block-32（空欄ならいちばん上のフォルダー）</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+174"/>
        <source>Download</source>
        <translation>ダウンロード</translation>
    </message>
    <message>
        <location line="-173"/>
        <source>Models message</source>
        <translation>モデルに関するお知らせ</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Checking this PC…</source>
        <translation>この PC を調べています…</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{total} ({free} free now)</source>
        <translation>{total}（現在の空き {free}）</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+10"/>
        <source>Unknown</source>
        <translation>不明</translation>
    </message>
    <message>
        <location line="-8"/>
        <source>{name}: {memory} of its own memory</source>
        <translation>{name}：専用メモリ {memory}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No graphics card with its own memory was found; models run on the CPU.</source>
        <translation>専用メモリを持つグラフィックスカードは見つかりませんでした。モデルは CPU で動きます。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{free} in the models folder ({folder})</source>
        <translation>モデルフォルダー（{folder}）に {free}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>ONNX Runtime GenAI is not installed: models cannot be loaded.</source>
        <translation>ONNX Runtime GenAI がインストールされていないため、モデルを読み込めません。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>ONNX Runtime GenAI {version}; runs models on: {providers}</source>
        <translation>ONNX Runtime GenAI {version}。モデルの実行先：{providers}</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>Checking what this PC can run…</source>
        <translation>この PC で動くモデルを調べています…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>None of the catalog&apos;s models fits this PC. You can still add a smaller model from Hugging Face below.</source>
        <translation>カタログのモデルはどれもこの PC では動きません。下の「Hugging Face から追加」で、より小さなモデルを追加できます。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This PC has no GPU that can run these models, so the recommended one runs on the CPU: replies come more slowly.</source>
        <translation>この PC にはこれらのモデルを動かせる GPU がないため、おすすめのモデルは CPU で動きます。返答には時間がかかります。</translation>
    </message>
    <message>
        <location line="+73"/>
        <source>Downloaded to {folder}</source>
        <translation>ダウンロード先：{folder}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Remove</source>
        <translation>削除</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Downloading: see Downloads above.</source>
        <translation>ダウンロード中です。上の「ダウンロード」をご覧ください。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Downloading…</source>
        <translation>ダウンロード中…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Not downloaded yet.</source>
        <translation>まだダウンロードしていません。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Offline mode is on: turn it off in Settings to download.</source>
        <translation>オフラインモードがオンです。ダウンロードするには設定でオフにしてください。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Offline mode is on: Hearth does not connect to the internet, so downloads and search are off.</source>
        <translation>オフラインモードがオンです。Hearth はインターネットに接続しないため、ダウンロードと検索は使えません。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Change it in Settings</source>
        <translation>設定で変更</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Download the CPU build ({size})</source>
        <translation>CPU 版をダウンロード（{size}）</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Loading {name}…</source>
        <translation>{name} を読み込み中…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} is loaded on {provider} in {seconds} s</source>
        <translation>{name} を {provider} で読み込みました（{seconds} 秒</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>, using {memory} of memory</source>
        <translation>、メモリ {memory} 使用</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>. You can chat now.</source>
        <translation>）。チャットを始められます。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{name} could not be loaded: {reason}</source>
        <translation>{name} を読み込めませんでした：{reason}</translation>
    </message>
    <message>
        <location line="+104"/>
        <source>The folder {folder} could not be opened.</source>
        <translation>フォルダー {folder} を開けませんでした。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Checking the files…</source>
        <translation>ファイルを確認しています…</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Removing…</source>
        <translation>削除しています…</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Choose a model folder (the one that holds genai_config.json)</source>
        <translation>モデルフォルダー（genai_config.json のあるフォルダー）を選択</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Searching…</source>
        <translation>検索しています…</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Enter the repository as owner/name, e.g. microsoft/Phi-4-mini-instruct-onnx.</source>
        <translation>リポジトリは owner/name の形で入力してください（例：microsoft/Phi-4-mini-instruct-onnx）。</translation>
    </message>
    <message>
        <location line="+49"/>
        <source>{name} is downloaded and ready: press Use to load it.</source>
        <translation>{name} のダウンロードが完了しました。「使う」を押すと読み込みます。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The document-search model is downloaded.</source>
        <translation>文書検索用のモデルをダウンロードしました。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The download was cancelled and its data deleted.</source>
        <translation>ダウンロードを中止し、途中までのデータを削除しました。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Copying: {done} of {total}</source>
        <translation>コピー中：{done} / {total}</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>{name} was added.</source>
        <translation>{name} を追加しました。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>The import was cancelled; nothing was added.</source>
        <translation>取り込みを中止しました。何も追加されていません。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{name} was removed; {size} of disk space was freed.</source>
        <translation>{name} を削除しました。ディスクの空きが {size} 増えました。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{name} was removed from the list.</source>
        <translation>{name} を一覧から外しました。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>All {n} files are intact.</source>
        <translation>{n} 個のファイルはすべて正常です。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>{repo} (no ONNX Runtime GenAI model)</source>
        <translation>{repo}（ONNX Runtime GenAI 形式のモデルなし）</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{where} · {downloads} downloads</source>
        <translation>{where} · {downloads} ダウンロード</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>needs a token</source>
        <translation>トークンが必要</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Nothing found for “{query}”.</source>
        <translation>「{query}」に一致するモデルは見つかりませんでした。</translation>
    </message>
</context>
<context>
    <name>ModelRows</name>
    <message>
        <location filename="../../app/ui/model_rows.py" line="+43"/>
        <source>{n} bytes</source>
        <translation>{n} バイト</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>{size}/s</source>
        <translation>{size}/秒</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{n} s</source>
        <translation>{n} 秒</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{n} min</source>
        <translation>{n} 分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{h} h {m} min</source>
        <translation>{h} 時間 {m} 分</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>never used</source>
        <translation>未使用</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>used just now</source>
        <translation>たった今使用</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>used {n} min ago</source>
        <translation>{n} 分前に使用</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>used {n} h ago</source>
        <translation>{n} 時間前に使用</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>last used {date}</source>
        <translation>最終使用 {date}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{providers} build</source>
        <translation>{providers} 版</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Runs on your GPU</source>
        <translation>GPU で動作</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Runs on CPU (slow)</source>
        <translation>CPU で動作（低速）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Does not fit</source>
        <translation>動作不可</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>No build of this model can run here.</source>
        <translation>このモデルには、この PC で動く版がありません。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Needs {need} of GPU memory; your GPU has {have}.</source>
        <translation>GPU メモリが {need} 必要です。お使いの GPU は {have} です。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Needs {need} of memory; {free} is free.</source>
        <translation>メモリが {need} 必要です。空きは {free} です。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Your GPU cannot run it (details in the tooltip).</source>
        <translation>お使いの GPU では動きません（詳しくはツールチップ）。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Needs {need} of free memory; {free} is free.</source>
        <translation>空きメモリが {need} 必要ですが、空きは {free} です。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Needs a GPU with {need} of memory.</source>
        <translation>メモリ {need} の GPU が必要です。</translation>
    </message>
    <message>
        <location line="+133"/>
        <source>Downloads the {build} ({folder}).</source>
        <translation>{build}（{folder}）をダウンロードします。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Checking this PC…</source>
        <translation>この PC を調べています…</translation>
    </message>
    <message>
        <location line="+12"/>
        <location line="+149"/>
        <source>In use</source>
        <translation>使用中</translation>
    </message>
    <message>
        <location line="-147"/>
        <location line="+174"/>
        <source>Use</source>
        <translation>使う</translation>
    </message>
    <message>
        <location line="-173"/>
        <location line="+174"/>
        <source>Load this model for chatting</source>
        <translation>このモデルを読み込んでチャットに使います</translation>
    </message>
    <message>
        <location line="-170"/>
        <location line="+339"/>
        <source>Resume</source>
        <translation>再開</translation>
    </message>
    <message>
        <location line="-336"/>
        <source>Downloading…</source>
        <translation>ダウンロード中…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Download</source>
        <translation>ダウンロード</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+333"/>
        <source>Offline mode is on: turn it off in Settings to download.</source>
        <translation>オフラインモードがオンです。ダウンロードするには設定でオフにしてください。</translation>
    </message>
    <message>
        <location line="-329"/>
        <source>This model does not fit this PC. To download it anyway, enter its repository under Add from Hugging Face.</source>
        <translation>このモデルはこの PC では動きません。それでもダウンロードするには、「Hugging Face から追加」にリポジトリを入力してください。</translation>
    </message>
    <message>
        <location line="+131"/>
        <source>Default</source>
        <translation>既定</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Loaded when Hearth starts</source>
        <translation>Hearth の起動時に読み込みます</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Missing</source>
        <translation>見つかりません</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>used where it is</source>
        <translation>元の場所で使用</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The folder is missing (a removed drive?). Reconnect it, or remove the model from the list.</source>
        <translation>フォルダーが見つかりません（ドライブが外れていませんか？）。接続し直すか、一覧からモデルを外してください。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Unload</source>
        <translation>解放</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Free the memory this model takes</source>
        <translation>このモデルが使っているメモリを解放します</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Set as default</source>
        <translation>既定にする</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Load this model when Hearth starts</source>
        <translation>Hearth の起動時にこのモデルを読み込みます</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>More</source>
        <translation>その他</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>More actions for {name}</source>
        <translation>{name} のその他の操作</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Open folder</source>
        <translation>フォルダーを開く</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Check files</source>
        <translation>ファイルを検証</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Remove from list…</source>
        <translation>一覧から外す…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Remove…</source>
        <translation>削除…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Download the CPU build ({size})</source>
        <translation>CPU 版をダウンロード（{size}）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This build needs more GPU memory than this PC has; {name}&apos;s CPU build fits in memory.</source>
        <translation>この版はこの PC の GPU メモリには収まりません。{name} の CPU 版ならメモリに収まります。</translation>
    </message>
    <message>
        <location line="+106"/>
        <source>Progress of {name}</source>
        <translation>{name} の進み具合</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{done} of {total}</source>
        <translation>{done} / {total}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Asking Hugging Face for the files…</source>
        <translation>Hugging Face にファイルを問い合わせています…</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{time} left</source>
        <translation>残り {time}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Stopping…</source>
        <translation>停止しています…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Paused at {amount}.</source>
        <translation>{amount} で一時停止中です。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paused before any data arrived.</source>
        <translation>データを受け取る前に一時停止しました。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Hearth does not know where it came from: discard it and download the model again.</source>
        <translation>入手元がわからないため、破棄してからモデルをもう一度ダウンロードしてください。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Pause</source>
        <translation>一時停止</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Retry</source>
        <translation>再試行</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Cancel</source>
        <translation>キャンセル</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Discard</source>
        <translation>破棄</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Stop and delete what was downloaded</source>
        <translation>停止して、ダウンロードした分を削除します</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Token settings</source>
        <translation>トークンの設定</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings keeps your Hugging Face token in the system keyring</source>
        <translation>Hugging Face のトークンは設定から登録し、システムのキーリングに保管されます</translation>
    </message>
</context>
<context>
    <name>SettingsPane</name>
    <message>
        <location filename="../../app/ui/settings_pane.py" line="+57"/>
        <source>Unexpected error while moving the data folder: {error}</source>
        <translation>データフォルダーの移動中に予期しないエラーが発生しました：{error}</translation>
    </message>
    <message>
        <location line="+99"/>
        <source>Settings saved.</source>
        <translation>設定を保存しました。</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Copying to {folder}…</source>
        <translation>{folder} にコピーしています…</translation>
    </message>
    <message>
        <location line="+326"/>
        <source>Settings</source>
        <translation>設定</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Appearance</source>
        <translation>外観</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Language</source>
        <translation>言語</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Generation defaults</source>
        <translation>生成の既定値</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Data</source>
        <translation>データ</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Privacy</source>
        <translation>プライバシー</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hugging Face token</source>
        <translation>Hugging Face トークン</translation>
    </message>
    <message>
        <location line="+5"/>
        <location line="+43"/>
        <source>Theme</source>
        <translation>テーマ</translation>
    </message>
    <message>
        <location line="-42"/>
        <location line="+43"/>
        <source>Font size</source>
        <translation>文字サイズ</translation>
    </message>
    <message>
        <location line="-42"/>
        <location line="+43"/>
        <source>Interface language</source>
        <translation>表示言語</translation>
    </message>
    <message>
        <location line="-42"/>
        <source>The window switches as soon as you apply.</source>
        <translation>適用するとすぐに表示が切り替わります。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Model at start</source>
        <translation>起動時のモデル</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Runs on</source>
        <translation>実行場所</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+46"/>
        <source>Context limit</source>
        <translation>コンテキスト上限</translation>
    </message>
    <message>
        <location line="-44"/>
        <source>The context limit is the longest conversation the model keeps in memory; a higher limit reserves more memory. Changes apply to the next model you load.</source>
        <translation>コンテキスト上限は、モデルがメモリに保持できる会話の最大の長さです。上限を大きくすると、より多くのメモリを確保します。変更は次に読み込むモデルから適用されます。</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+43"/>
        <source>System prompt</source>
        <translation>システムプロンプト</translation>
    </message>
    <message>
        <location line="-42"/>
        <location line="+45"/>
        <source>Temperature</source>
        <translation>温度</translation>
    </message>
    <message>
        <location line="-44"/>
        <location line="+47"/>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <location line="-46"/>
        <location line="+49"/>
        <source>Top-k</source>
        <translation>Top-k</translation>
    </message>
    <message>
        <location line="-48"/>
        <location line="+50"/>
        <source>Longest reply</source>
        <translation>返答の最大長</translation>
    </message>
    <message>
        <location line="-49"/>
        <location line="+50"/>
        <source>Reasoning effort</source>
        <translation>推論の深さ</translation>
    </message>
    <message>
        <location line="-49"/>
        <location line="+52"/>
        <source>Presets</source>
        <translation>プリセット</translation>
    </message>
    <message>
        <location line="-51"/>
        <source>Save as preset</source>
        <translation>プリセットとして保存</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>These apply to the next reply. Presets are kept when you apply.</source>
        <translation>次の返答から適用されます。プリセットは「適用」を押したときに保存されます。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Data folder</source>
        <translation>データフォルダー</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Access token</source>
        <translation>アクセストークン</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Only needed to download gated or private models. The token is kept in your system&apos;s keyring, never in a file.</source>
        <translation>アクセス制限付きのモデルや非公開のモデルをダウンロードするときだけ必要です。トークンはシステムのキーリングに保管され、ファイルに書き出されることはありません。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Hearth has no telemetry: nothing about you or your conversations is sent anywhere. It connects to the internet only when you download a model.</source>
        <translation>Hearth にはテレメトリーがありません。あなたや会話に関する情報がどこかへ送られることはありません。インターネットに接続するのは、モデルをダウンロードするときだけです。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>System language</source>
        <translation>システムの言語</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>tokens</source>
        <translation>トークン</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>pt</source>
        <translation>pt</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Model folder loaded at start</source>
        <translation>起動時に読み込むモデルフォルダー</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>None: open a model when you need one</source>
        <translation>なし（必要なときにモデルを開きます）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Browse…</source>
        <translation>参照…</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+267"/>
        <source>Choose the model loaded at start</source>
        <translation>起動時に読み込むモデルを選択</translation>
    </message>
    <message>
        <location line="-266"/>
        <source>Where the model runs</source>
        <translation>モデルの実行場所</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Auto tries the GPU first, then the CPU</source>
        <translation>「自動」はまず GPU を試し、使えなければ CPU で実行します</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Instructions given to the model at the start of every conversation</source>
        <translation>すべての会話の最初にモデルへ与える指示</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Randomness of replies; 0 always picks the likeliest word</source>
        <translation>返答のランダムさです。0 にすると常に最も可能性の高い語を選びます</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Sample only from the likeliest words that together reach this probability</source>
        <translation>可能性の高い語から順に、確率の合計がこの値に達するまでの語だけから選びます</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sample only from this many likeliest words</source>
        <translation>可能性の高い上位この数の語だけから選びます</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>How long reasoning models such as gpt-oss think before answering</source>
        <translation>gpt-oss などの推論モデルが回答の前に考える長さ</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No presets yet</source>
        <translation>プリセットはまだありません</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Use</source>
        <translation>使用</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Use the chosen preset</source>
        <translation>選択したプリセットを使用</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Delete</source>
        <translation>削除</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Delete the chosen preset</source>
        <translation>選択したプリセットを削除</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+1"/>
        <source>Preset name</source>
        <translation>プリセット名</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save preset</source>
        <translation>プリセットを保存</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Save the generation settings above as a preset</source>
        <translation>上の生成設定をプリセットとして保存</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Move data folder…</source>
        <translation>データフォルダーを移動…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Move the data folder</source>
        <translation>データフォルダーを移動</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Progress of the data folder move</source>
        <translation>データフォルダー移動の進み具合</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>キャンセル</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel moving the data folder</source>
        <translation>データフォルダーの移動をキャンセル</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Data folder in use</source>
        <translation>使用中のデータフォルダー</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Offline mode: never connect to the internet, not even for downloads you start</source>
        <translation>オフラインモード：自分で始めたダウンロードも含め、インターネットに一切接続しない</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Offline mode</source>
        <translation>オフラインモード</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hugging Face access token</source>
        <translation>Hugging Face アクセストークン</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paste a token (hf_…)</source>
        <translation>トークンを貼り付け（hf_…）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save the token in the keyring</source>
        <translation>トークンをキーリングに保存</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Remove</source>
        <translation>削除</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Remove the token from the keyring</source>
        <translation>トークンをキーリングから削除</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Token status</source>
        <translation>トークンの状態</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Revert</source>
        <translation>元に戻す</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Revert the unapplied changes</source>
        <translation>まだ適用していない変更を元に戻す</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Apply</source>
        <translation>適用</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Apply and save the settings</source>
        <translation>設定を適用して保存</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings message</source>
        <translation>設定のメッセージ</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings warnings</source>
        <translation>設定の警告</translation>
    </message>
    <message>
        <location line="+104"/>
        <source>You have unapplied changes.</source>
        <translation>まだ適用していない変更があります。</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>Some settings could not be used and the defaults were taken instead:</source>
        <translation>一部の設定を使用できなかったため、代わりに既定値を使っています：</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>Preset “{name}” is in the controls above; apply to use it.</source>
        <translation>プリセット「{name}」を上の項目に読み込みました。使うには「適用」を押してください。</translation>
    </message>
    <message>
        <location line="+44"/>
        <source>Choose an empty folder for Hearth&apos;s data</source>
        <translation>Hearth のデータを置く空のフォルダーを選択</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>This session&apos;s data folder was chosen with --data-dir or HEARTH_DATA_DIR, so it cannot be moved from here. Start Hearth without them to move it.</source>
        <translation>このセッションのデータフォルダーは --data-dir または HEARTH_DATA_DIR で指定されているため、ここからは移動できません。移動するには、これらを指定せずに Hearth を起動してください。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Moving copies your conversations and models to an empty folder and checks every file. Hearth uses the new folder from its next start; the old one stays until you delete it.</source>
        <translation>移動すると、会話とモデルを空のフォルダーにコピーし、すべてのファイルを検証します。新しいフォルダーは次回の起動から使われ、元のフォルダーは削除するまでそのまま残ります。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>{done} of {total}</source>
        <translation>{done} / {total}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Moving was cancelled; nothing was changed.</source>
        <translation>移動をキャンセルしました。何も変更されていません。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>The data was copied to {folder}, but the new location could not be recorded: {reason}</source>
        <translation>データは {folder} にコピーされましたが、新しい場所を記録できませんでした：{reason}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Copied {files} files to {folder}. Hearth uses it from its next start; the old folder, {old}, is unchanged: delete it once you no longer need it.</source>
        <translation>{files} 個のファイルを {folder} にコピーしました。次回の起動からこのフォルダーを使います。元のフォルダー {old} はそのまま残っているので、不要になったら削除してください。</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>No system keyring is available, so the token cannot be saved. On Linux, install and unlock a Secret Service such as GNOME Keyring or KWallet, or set {env} in the environment for this session instead.</source>
        <translation>システムのキーリングを利用できないため、トークンを保存できません。Linux では GNOME Keyring や KWallet などの Secret Service をインストールしてロックを解除するか、代わりにこのセッションの環境変数 {env} を設定してください。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>A token is saved in {keyring}.</source>
        <translation>トークンは {keyring} に保存されています。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No token is saved. A token you save is kept in {keyring}.</source>
        <translation>トークンは保存されていません。保存したトークンは {keyring} に保管されます。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{env} is set in the environment, so this session&apos;s downloads use that token.</source>
        <translation>環境変数 {env} が設定されているため、このセッションのダウンロードではそのトークンを使います。</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>The token was saved in {keyring}.</source>
        <translation>トークンを {keyring} に保存しました。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>The token was removed.</source>
        <translation>トークンを削除しました。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No token was saved.</source>
        <translation>保存されているトークンはありませんでした。</translation>
    </message>
</context>
<context>
    <name>ThinkingSection</name>
    <message>
        <location filename="../../app/ui/message_widget.py" line="-541"/>
        <source>Model&apos;s thinking</source>
        <translation>モデルの思考</translation>
    </message>
    <message>
        <location line="+79"/>
        <source>Hide the model&apos;s thinking</source>
        <translation>モデルの思考を隠す</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Show the model&apos;s thinking</source>
        <translation>モデルの思考を表示</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Thinking…</source>
        <translation>思考中…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Thought for {duration}</source>
        <translation>{duration}考えました</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Thinking</source>
        <translation>思考</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{s:.1f} s</source>
        <translation>{s:.1f} 秒</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{m} min {s} s</source>
        <translation>{m} 分 {s} 秒</translation>
    </message>
</context>
<context>
    <name>_ConversationDelegate</name>
    <message>
        <location filename="../../app/ui/history_sidebar.py" line="-367"/>
        <source>Conversation title</source>
        <translation>会話のタイトル</translation>
    </message>
</context>
</TS>
