/* Hearth tracker: cookieless, no storage ids. See docs/architecture/ingest.md */
!function(w,d){
var s=d.currentScript,A=function(x){return s.getAttribute("data-"+x)},n=navigator,l=location,
K=A("site"),D=A("domain"),api=A("api")||new URL(s.src).origin+"/ingest/e",H=A("hash")!=null,M=A("manual")!=null,
E=0,T=0,S=0,N=0,U,R=d.referrer,
X=/\.(pdf|zip|gz|tgz|7z|rar|dmg|exe|msi|apk|iso|csv|txt|rtf|docx?|xlsx?|pptx?|epub|mp3|mp4|mov|avi|wav)$/i;
function off(){try{if(localStorage.hearth_ignore=="1")return 1}catch(e){}
return A("dnt")!=null&&(n.doNotTrack=="1"||n.globalPrivacyControl)}
function url(){return H?l.href:l.href.split("#")[0]}
function send(m,o){if(off())return;var b={k:K,d:D,n:m,u:U||url(),r:R,w:w.innerWidth,l:n.language,t:d.title},i;
if(H)b.h=1;for(i in o)b[i]=o[i];b=JSON.stringify(b);
if(!(n.sendBeacon&&n.sendBeacon(api,b)))fetch(api,{method:"POST",body:b,keepalive:!0,credentials:"omit"})}
function ev(m,o){send(m,{p:o&&o.props})}
function acc(){var t=Date.now();if(T)E+=t-T;T=d.hidden?0:t}
function eng(){acc();if(E>9&&U)send("engagement",{e:E,s:S});E=0}
function sc(){var h=d.documentElement,p=Math.round((w.scrollY+w.innerHeight)/Math.max(h.scrollHeight,1)*100);if(p>S)S=p>100?100:p}
function pv(){var x=url();if(x==U)return;if(U){eng();R=U}U=x;S=0;sc();send("pageview")}
function er(x,m,f,ln,c){if(N++<9)send("error",{x:{message:String(m||x).slice(0,500),type:x&&x.name||"Error",
stack:String(x&&x.stack||"").slice(0,1500),source:f||"",line:ln||"",col:c||""}})}
function click(e){var t=e.target.closest&&e.target.closest("a,[data-hearth-event]"),m,p={},i,a;if(!t)return;
if(m=t.getAttribute("data-hearth-event")){for(i=0;a=t.attributes[i++];)if(!a.name.indexOf("data-hearth-prop-"))p[a.name.slice(17)]=a.value;ev(m,{props:p})}
else if(t.href)t.host&&t.host!=l.host?ev("Outbound Link: Click",{props:{url:t.href}}):X.test(t.pathname)&&ev("File Download",{props:{url:t.href}})}
var q=w.hearth&&w.hearth.q||[],hp=history.pushState,on=function(o,e,f){o.addEventListener(e,f,{capture:!0,passive:!0})};
w.hearth=ev;ev.p=pv;
history.pushState=function(){hp.apply(this,arguments);M||pv()};
M||on(w,"popstate",pv);H&&!M&&on(w,"hashchange",pv);
on(w,"scroll",sc);on(d,"click",click);on(d,"auxclick",click);
on(d,"visibilitychange",function(){d.hidden?eng():acc()});on(w,"pagehide",eng);
on(w,"error",function(e){e.message&&er(e.error,e.message,e.filename,e.lineno,e.colno)});
on(w,"unhandledrejection",function(e){var r=e.reason;er(r||{},r&&r.message||r)});
acc();M||pv();A("404")!=null&&ev("404",{props:{path:l.pathname}});
for(var i=0;i<q.length;i++)ev.apply(0,q[i])
}(window,document);
